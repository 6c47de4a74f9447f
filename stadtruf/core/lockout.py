"""Bad credentials in a loop: rate-limited, then blocked for a while. One rule for the web
login and the API's Basic/Bearer authentication.

Pure: the failures of one key (the client's address) in, a verdict out. Within `window_s`,
the first `free` failures cost nothing; after that each attempt must wait `delay_s` after the
last failure (429 with Retry-After); after `block_after` failures the key is blocked for
`block_s`, whatever it sends, right credentials included. A success clears the key's
failures (not a block). `Throttle` keeps the keys, bounded in number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LockoutRule:
    free: int = 5
    delay_s: float = 2.0
    block_after: int = 20
    block_s: float = 900.0
    window_s: float = 600.0


@dataclass(frozen=True)
class Attempts:
    failures: tuple[float, ...] = ()  # times of the failures within the window
    blocked_until: float | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0  # when not allowed: whole seconds to wait
    blocked: bool = False


ALLOWED = Verdict(True)


def _recent(attempts: Attempts, now: float, rule: LockoutRule) -> tuple[float, ...]:
    return tuple(t for t in attempts.failures if now - t < rule.window_s)


def verdict(attempts: Attempts | None, now: float, rule: LockoutRule) -> Verdict:
    """May the key try (again) now?"""
    if attempts is None:
        return ALLOWED
    if attempts.blocked_until is not None and now < attempts.blocked_until:
        return Verdict(False, max(1, math.ceil(attempts.blocked_until - now)), blocked=True)
    recent = _recent(attempts, now, rule)
    if len(recent) < rule.free:
        return ALLOWED
    wait = recent[-1] + rule.delay_s - now
    return ALLOWED if wait <= 0 else Verdict(False, max(1, math.ceil(wait)))


def failed(attempts: Attempts | None, now: float, rule: LockoutRule) -> Attempts:
    """The key's attempts after one more failure at `now`."""
    before = attempts or Attempts()
    recent = (*_recent(before, now, rule), now)
    blocked = before.blocked_until
    if len(recent) >= rule.block_after:
        return Attempts((), now + rule.block_s)
    return Attempts(recent[-rule.block_after :], blocked)


def succeeded(attempts: Attempts | None) -> Attempts | None:
    """A success clears the failures; a block stays until it ends."""
    if attempts is None or attempts.blocked_until is None:
        return None
    return Attempts((), attempts.blocked_until)


class Throttle:
    """The attempts of every key, at most `limit` keys (the oldest go first)."""

    def __init__(self, rule: LockoutRule = LockoutRule(), limit: int = 10_000) -> None:
        self.rule = rule
        self.limit = limit
        self.keys: dict[str, Attempts] = {}

    def check(self, key: str, now: float) -> Verdict:
        return verdict(self.keys.get(key), now, self.rule)

    def failure(self, key: str, now: float) -> None:
        self.keys[key] = failed(self.keys.pop(key, None), now, self.rule)
        while len(self.keys) > self.limit:
            del self.keys[next(iter(self.keys))]

    def success(self, key: str) -> None:
        after = succeeded(self.keys.pop(key, None))
        if after is not None:
            self.keys[key] = after
