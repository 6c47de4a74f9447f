"""Brute force on SIP: which address is banned, until when, from Asterisk's security events.

SIP scanners (sipvicious' svwar, svcrack, friendly-scanner) send hundreds of requests a minute
with guessed accounts and passwords. Asterisk reports each failure as a security event
(``security.log``, one line each, `parse_security_line`). The rule: an address with
`BanRule.max_failures` failures within `BanRule.window_s` seconds is banned for `BanRule.ban_s`
seconds; then it may try again (an agent who mistyped a password is not locked out for ever).
Trusted networks (the carrier's trunk, an office network behind one NAT address) are never
banned: banning them would cut off all citizens or all agents at once.

The ban itself is a PJSIP ACL (`acl_conf`), rendered into Asterisk and reloaded by the adapter
(`stadtruf.asterisk.bans`); every request from a banned address gets 403 before any
authentication or dialplan. The rendered file names each ban's expiry, so a restarted app
reads its bans back (`bans_from_conf`).

Memory is bounded: per address at most `max_failures` timestamps, at most `max_tracked`
addresses with failures (the oldest dropped first), however many addresses a scan comes from.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

# Security events that mean "someone tried and failed" (res_security_log's SecurityEvent=).
# Not counted: ChallengeSent (every normal registration is challenged first), SuccessfulAuth,
# FailedACL (an address already refused: counting it would only prolong its ban).
FAILURE_EVENTS = frozenset(
    {
        "InvalidAccountID",
        "ChallengeResponseFailed",
        "InvalidPassword",
        "AuthMethodNotAllowed",
        "RequestNotAllowed",
        "RequestBadFormat",
        "UnexpectedAddress",
        "InvalidTransport",
    }
)

_FIELD = re.compile(r'(\w+)="([^"]*)"')
# RemoteAddress="IPV4/UDP/203.0.113.9/5060" (or IPV6/TCP/…).
_REMOTE = re.compile(r"^IPV[46]/[A-Z]+/(.+)/\d+$")
# A security line is short; a longer one is not Asterisk's and is not parsed.
MAX_LINE = 4096


@dataclass(frozen=True)
class SecurityEvent:
    name: str
    address: str  # the remote IP address, validated
    account: str = ""


def parse_security_line(line: str) -> SecurityEvent | None:
    """One line of Asterisk's security log; None for anything else (or garbage).

    >>> parse_security_line('SECURITY[1] res_security_log.c: SecurityEvent="InvalidAccountID",'
    ...     'AccountID="100",RemoteAddress="IPV4/UDP/127.0.8.73/5060"')
    SecurityEvent(name='InvalidAccountID', address='127.0.8.73', account='100')
    """
    if len(line) > MAX_LINE or "SecurityEvent=" not in line:
        return None
    fields = dict(_FIELD.findall(line))
    name = fields.get("SecurityEvent", "")
    remote = _REMOTE.match(fields.get("RemoteAddress", ""))
    if not name or remote is None:
        return None
    try:
        address = str(ipaddress.ip_address(remote.group(1).strip("[]")))
    except ValueError:
        return None
    return SecurityEvent(name, address, fields.get("AccountID", "")[:80])


@dataclass(frozen=True)
class BanRule:
    max_failures: int = 5
    window_s: float = 60.0
    ban_s: float = 3600.0
    trusted: tuple[str, ...] = ()  # addresses or networks (CIDR) never banned
    max_tracked: int = 10_000

    def is_trusted(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(net, strict=False) for net in self.trusted)


@dataclass(frozen=True)
class Banned:
    """The decision to ban `address` until `until` (seconds since the epoch)."""

    address: str
    until: float
    failures: int
    last_event: str
    account: str


@dataclass(frozen=True)
class Bans:
    failures: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    banned: Mapping[str, float] = field(default_factory=dict)  # address -> until

    def active(self, at: float) -> tuple[str, ...]:
        return tuple(sorted(a for a, until in self.banned.items() if until > at))


def observe(
    bans: Bans, rule: BanRule, event: SecurityEvent, at: float
) -> tuple[Bans, Banned | None]:
    """Count a failure from `event.address`; ban it when it reaches the rule's limit."""
    if event.name not in FAILURE_EVENTS or rule.is_trusted(event.address):
        return bans, None
    if bans.banned.get(event.address, 0.0) > at:
        return bans, None  # banned already; Asterisk refuses it
    recent = tuple(t for t in bans.failures.get(event.address, ()) if t > at - rule.window_s)
    recent = (*recent, at)[-rule.max_failures :]
    failures = {a: ts for a, ts in bans.failures.items() if a != event.address}
    if len(recent) >= rule.max_failures:
        until = at + rule.ban_s
        decision = Banned(event.address, until, len(recent), event.name, event.account)
        return Bans(failures, {**bans.banned, event.address: until}), decision
    failures[event.address] = recent
    if len(failures) > rule.max_tracked:
        # Drop the addresses whose last failure is oldest: a wide scan stays bounded.
        keep = sorted(failures, key=lambda a: failures[a][-1])[-rule.max_tracked :]
        failures = {a: failures[a] for a in keep}
    return replace(bans, failures=failures), None


def expire(bans: Bans, at: float) -> tuple[Bans, tuple[str, ...]]:
    """Lift the bans whose time is up; the addresses lifted."""
    lifted = tuple(sorted(a for a, until in bans.banned.items() if until <= at))
    if not lifted:
        return bans, ()
    banned = {a: u for a, u in bans.banned.items() if u > at}
    return replace(bans, banned=banned), lifted


ACL_SECTION = "stadtruf-bans"
_BAN_COMMENT = re.compile(r"^; ban (\S+) until (\d+(?:\.\d+)?)$")


def acl_conf(banned: Mapping[str, float]) -> str:
    """``pjsip_bans.conf``: a PJSIP ACL refusing every banned address (403 to any request).

    Without bans the file has no section (an ACL without rules would still be evaluated)."""
    lines = [
        "; Written by stadtruf (stadtruf.core.bans): addresses banned after repeated SIP",
        "; authentication failures. Do not edit; each ban lifts itself at its time.",
    ]
    if not banned:
        return "\n".join(lines) + "\n"
    lines += ["", f"[{ACL_SECTION}]", "type = acl"]
    for address, until in sorted(banned.items()):
        host = "128" if ":" in address else "32"
        lines += [f"; ban {address} until {until:.0f}", f"deny = {address}/{host}"]
    return "\n".join(lines) + "\n"


def bans_from_conf(text: str, at: float) -> Bans:
    """The bans a previous run wrote (`acl_conf`) that are still in force at `at`."""
    banned: dict[str, float] = {}
    for line in text.splitlines():
        match = _BAN_COMMENT.match(line.strip())
        if match is None:
            continue
        try:
            address = str(ipaddress.ip_address(match.group(1)))
        except ValueError:
            continue
        until = float(match.group(2))
        if until > at:
            banned[address] = until
    return Bans(banned=banned)


def trusted_networks(values: Iterable[str]) -> tuple[str, ...]:
    """`values` as networks, each checked (ValueError names the wrong one)."""
    return tuple(str(ipaddress.ip_network(v, strict=False)) for v in values)


__all__ = [
    "FAILURE_EVENTS",
    "BanRule",
    "Banned",
    "Bans",
    "SecurityEvent",
    "acl_conf",
    "bans_from_conf",
    "expire",
    "observe",
    "parse_security_line",
    "trusted_networks",
]
