"""The SIP ban rule (stadtruf.core.bans) and its adapter's file handling (BanGuard)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from stadtruf.asterisk.bans import BanGuard
from stadtruf.core.bans import (
    BanRule,
    Bans,
    SecurityEvent,
    acl_conf,
    bans_from_conf,
    expire,
    observe,
    parse_security_line,
)

LINE = (
    '[2026-12-04 13:20:31.022] SECURITY[2309] res_security_log.c: SecurityEvent="{event}",'
    'EventTV="2026-12-04T13:20:31.022+0000",Severity="Error",Service="PJSIP",EventVersion="1",'
    'AccountID="agent-101",SessionID="1817208845",LocalAddress="IPV4/UDP/127.0.8.21/5060",'
    'RemoteAddress="IPV4/UDP/{address}/5061",Challenge="x",Response="y",ExpectedResponse=""'
)
RULE = BanRule(max_failures=3, window_s=10, ban_s=100, trusted=("10.1.0.0/16",))


def failed(address: str = "203.0.113.9", name: str = "ChallengeResponseFailed") -> SecurityEvent:
    return SecurityEvent(name, address, "agent-101")


def test_an_asterisk_security_line_is_read() -> None:
    event = parse_security_line(LINE.format(event="ChallengeResponseFailed", address="127.0.8.71"))
    assert event == SecurityEvent("ChallengeResponseFailed", "127.0.8.71", "agent-101")


def test_garbage_is_no_event() -> None:
    for line in (
        "",
        "[x] NOTICE foo",
        LINE.format(event="InvalidAccountID", address="not-an-address"),
        LINE.format(event="InvalidAccountID", address="1.2.3.4") + "x" * 5000,
        'SecurityEvent="InvalidAccountID",RemoteAddress="IPV4/UDP/1.2.3.4"',
    ):
        assert parse_security_line(line) is None


def test_the_limit_within_the_window_bans_until_the_ban_ends() -> None:
    bans = Bans()
    for at in (0.0, 1.0):
        bans, decision = observe(bans, RULE, failed(), at)
        assert decision is None
    bans, decision = observe(bans, RULE, failed(), 2.0)
    assert decision is not None and decision.until == 102.0 and decision.failures == 3
    assert bans.active(50) == ("203.0.113.9",)
    bans, lifted = expire(bans, 101.0)
    assert lifted == () and bans.active(101.0)
    bans, lifted = expire(bans, 102.0)
    assert lifted == ("203.0.113.9",) and bans.active(102.0) == ()


def test_failures_outside_the_window_do_not_add_up() -> None:
    bans = Bans()
    for at in (0.0, 11.0, 22.0, 33.0):
        bans, decision = observe(bans, RULE, failed(), at)
        assert decision is None


def test_trusted_networks_and_harmless_events_never_ban() -> None:
    bans = Bans()
    for at in range(10):
        bans, decision = observe(bans, RULE, failed("10.1.2.3"), float(at))
        assert decision is None
        bans, decision = observe(bans, RULE, failed(name="ChallengeSent"), float(at))
        assert decision is None
        bans, decision = observe(bans, RULE, failed(name="SuccessfulAuth"), float(at))
        assert decision is None
    assert bans.banned == {}


@given(st.lists(st.integers(0, 2**32 - 1), max_size=300))
def test_memory_stays_bounded_however_many_addresses_fail(addresses: list[int]) -> None:
    rule = BanRule(max_failures=4, window_s=1000, ban_s=10, max_tracked=50)
    bans = Bans()
    for i, n in enumerate(addresses):
        address = f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        bans, _ = observe(bans, rule, failed(address), float(i))
        assert len(bans.failures) <= 50
        assert all(len(ts) < 4 for ts in bans.failures.values())


def test_the_acl_denies_each_banned_address_and_is_read_back() -> None:
    text = acl_conf({"203.0.113.9": 2000.0, "2001:db8::1": 3000.0})
    assert "[stadtruf-bans]" in text and "type = acl" in text
    assert "deny = 203.0.113.9/32" in text and "deny = 2001:db8::1/128" in text
    assert bans_from_conf(text, 2500.0).banned == {"2001:db8::1": 3000.0}
    assert "[stadtruf-bans]" not in acl_conf({}) and "deny" not in acl_conf({})


def test_the_guard_follows_the_log_and_renders_the_acl(tmp_path: Path) -> None:
    log = tmp_path / "security.log"
    log.write_text(LINE.format(event="InvalidPassword", address="198.51.100.7") + "\n")
    now = [1000.0]
    reloads: list[str] = []

    async def reload() -> bool:
        reloads.append((tmp_path / "pjsip_bans.conf").read_text())
        return True

    guard = BanGuard(log, tmp_path, RULE, reload, clock=lambda: now[0])

    async def scenario() -> None:
        await guard.poll()  # starts at the log's end: the old line is not counted
        assert len(reloads) == 1 and "deny" not in reloads[0]  # Asterisk reads it once
        with log.open("a") as f:
            for _ in range(3):
                f.write(LINE.format(event="InvalidPassword", address="198.51.100.7") + "\n")
            f.write(LINE.format(event="InvalidPassword", address="198.51.100.8"))  # half a line
        await guard.poll()
        assert guard.banned() == ("198.51.100.7",)
        assert len(reloads) == 2 and "deny = 198.51.100.7/32" in reloads[1]
        assert guard.failures_total == 3 and guard.bans_total == 1
        now[0] += 100
        await guard.poll()
        assert guard.banned() == () and "deny" not in reloads[-1]

    asyncio.run(scenario())
    # A restarted guard reads back the bans still in force.
    (tmp_path / "pjsip_bans.conf").write_text(acl_conf({"198.51.100.9": 5000.0}))
    again = BanGuard(log, tmp_path, RULE, reload, clock=lambda: 1200.0)
    assert again.banned() == ("198.51.100.9",)
