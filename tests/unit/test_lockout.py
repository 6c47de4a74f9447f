"""The lockout rule (pure): free attempts, then a delay, then a block; successes reset."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stadtruf.core.lockout import Attempts, LockoutRule, Throttle, failed, succeeded, verdict

RULE = LockoutRule(free=3, delay_s=10, block_after=5, block_s=100, window_s=60)


def test_free_attempts_then_a_delay_then_a_block() -> None:
    a: Attempts | None = None
    for t in (0, 1, 2):
        assert verdict(a, t, RULE).allowed
        a = failed(a, t, RULE)
    v = verdict(a, 3, RULE)
    assert (v.allowed, v.retry_after_s, v.blocked) == (False, 9, False)
    assert verdict(a, 12, RULE).allowed
    a = failed(a, 12, RULE)
    assert not verdict(a, 13, RULE).allowed
    a = failed(a, 22, RULE)  # the fifth: blocked
    v = verdict(a, 23, RULE)
    assert (v.allowed, v.blocked, v.retry_after_s) == (False, True, 99)
    assert verdict(a, 122, RULE).allowed


def test_old_failures_leave_the_window() -> None:
    a = None
    for t in (0, 1, 2):
        a = failed(a, t, RULE)
    assert not verdict(a, 5, RULE).allowed
    assert verdict(a, 63, RULE).allowed


def test_a_success_clears_failures_but_not_a_block() -> None:
    a = None
    for t in (0, 1):
        a = failed(a, t, RULE)
    assert succeeded(a) is None
    blocked = Attempts((), 500.0)
    assert succeeded(blocked) == blocked


def test_throttle_keeps_keys_apart_and_bounded() -> None:
    throttle = Throttle(RULE, limit=2)
    for t in range(3):
        throttle.failure("10.0.0.1", t)
    assert not throttle.check("10.0.0.1", 3).allowed
    assert throttle.check("10.0.0.2", 3).allowed
    throttle.failure("10.0.0.2", 3)
    throttle.failure("10.0.0.3", 3)
    assert len(throttle.keys) == 2


@given(st.lists(st.floats(min_value=0, max_value=1000), max_size=40))
def test_never_more_than_free_plus_one_failures_within_a_delay(times: list[float]) -> None:
    """Whatever an attacker sends, the attempts it gets checked are bounded per delay."""
    a: Attempts | None = None
    checked: list[float] = []
    for t in sorted(times):
        if verdict(a, t, RULE).allowed:
            checked.append(t)
            a = failed(a, t, RULE)
    for i, t in enumerate(checked):
        later = [u for u in checked[i + RULE.free :] if u - t < RULE.delay_s]
        assert not later or len(later) <= 1
