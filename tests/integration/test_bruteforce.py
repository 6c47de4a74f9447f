"""Issue #13 over real SIP: scanners and password crackers against the running ServiceCenter.

Debian's sipvicious attacks from its own loopback addresses of the test net (.71-.74,
`tests/support/addresses.py`), while the ban (`stadtruf.asterisk.bans.BanGuard`) follows the
ServiceCenter's security log:

- svcrack guesses agent-101's password from a dictionary of common ones: nothing is found,
  and after 5 failures the address is banned; from then on every request from it gets 403,
  even with the right password; the ban is in the log and in the metrics, and it lifts itself
  after its time. (The ban follows the security log, so a burst sent within its first half
  second is answered before the ban; random passwords hold there, docs/security.md.)
- svwar enumerates extensions (numbers and agent-style names) with REGISTER, INVITE and
  OPTIONS: PJSIP answers known and unknown accounts alike (a challenge), so svwar cannot tell
  the agents apart (it gives up: "found nothing").
- svmap finds the SIP server (it is public; that is intended) and no more.
- INVITEs from an unknown address to an international and a premium number are challenged,
  never routed: nothing reaches the carrier. (The trunk and an agent's own phone are refused
  the same numbers in test_dialplan.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from prometheus_client import CollectorRegistry, generate_latest

from stadtruf import logging as stadtruf_logging
from stadtruf.asterisk.bans import ACL_MODULE, BanCollector, BanGuard, stop
from stadtruf.core.bans import BanRule
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import Site
from tests.integration.sipvicious import Run, available, run_tool
from tests.integration.support import Observer, eventually
from tests.integration.test_dialplan import INTERNATIONAL, PREMIUM, nothing_reaches_the_carrier
from tests.support.addresses import address_in_test_net

pytestmark = pytest.mark.skipif(not available(), reason="sipvicious not installed (./dev)")

CRACKER = address_in_test_net(71)
WARDIALER = address_in_test_net(72)
MAPPER = address_in_test_net(73)
CALLER = address_in_test_net(74)
AGENTS = ("agent-101", "agent-102", "agent-103")
COMMON_PASSWORDS = ("123456", "password", "1234", "agent", "geheim", "passwort", "101", "0000")


@dataclass
class Guarded:
    guard: BanGuard
    log: io.StringIO


@contextlib.asynccontextmanager
async def ban_guard(
    site: Site, observer: Observer, ban_s: float = 3600, max_failures: int = 5
) -> AsyncIterator[Guarded]:
    """The ban on the session's ServiceCenter; the carrier and the phones are trusted (as
    `stadtruf up` trusts the trunk). Afterwards no ban is left for the next test."""
    out = io.StringIO()
    stadtruf_logging.configure(json=True, file=out)
    rule = BanRule(
        max_failures=max_failures,
        window_s=60,
        ban_s=ban_s,
        trusted=(site.carrier.settings.template_values()["BIND_ADDRESS"], "127.0.8.23/32"),
    )

    async def reload() -> bool:
        await observer.rest.reload_module(ACL_MODULE)
        return True

    guard = BanGuard(
        site.center.directory / "log" / "security.log", site.center.etc, rule, reload, poll_s=0.2
    )
    task = asyncio.create_task(guard.run())
    try:
        await asyncio.sleep(0.5)  # the guard has taken the log's end as its start
        yield Guarded(guard, out)
    finally:
        await stop(task)
        guard.conf.write_text("")
        await observer.rest.reload_module(ACL_MODULE)
        structlog.reset_defaults()


def sip_request(
    method: str, source: str, target: str, user: str = "probe", timeout: float = 3.0
) -> str:
    """Send one SIP request over UDP from `source`; the first response's status line."""
    call_id = uuid.uuid4().hex
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        port = sock.getsockname()[1]
        lines = [
            f"{method} sip:{user}@{target}:5060 SIP/2.0",
            f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{call_id[:12]};rport",
            "Max-Forwards: 70",
            f"From: <sip:probe@{source}>;tag={call_id[:8]}",
            f"To: <sip:{user}@{target}>",
            f"Call-ID: {call_id}",
            f"CSeq: 1 {method}",
            f"Contact: <sip:probe@{source}:{port}>",
            "Content-Length: 0",
            "",
            "",
        ]
        sock.sendto("\r\n".join(lines).encode(), (target, 5060))
        while True:
            data = sock.recv(65535).decode(errors="replace")
            status = data.split("\r\n", 1)[0]
            if not status.startswith("SIP/2.0 1"):  # skip 100 Trying
                return status


async def request_status(method: str, source: str, target: str, user: str = "probe") -> str:
    return await asyncio.to_thread(sip_request, method, source, target, user)


FORBIDDEN = "SIP/2.0 403 Forbidden"
CHALLENGED = "SIP/2.0 401 Unauthorized"


async def answered(
    status: str, method: str, source: str, target: str, user: str = "probe", timeout: float = 5
) -> None:
    """Wait until a request from `source` is answered with `status`: a ban (or its end)
    takes effect when Asterisk has reloaded the ACL, a moment after the guard decided."""
    last = ""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while (last := await request_status(method, source, target, user)) != status:
                await asyncio.sleep(0.2)
    assert last == status, f"{method} from {source}: {last}, expected {status}"


def logged(out: io.StringIO, event: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


def metrics(guard: BanGuard) -> str:
    registry = CollectorRegistry()
    registry.register(BanCollector(guard))
    return generate_latest(registry).decode()


async def test_svcrack_finds_no_password_and_its_address_is_banned(
    site: Site, observer: Observer, tmp_path: Path
) -> None:
    center = site.center.settings.template_values()["BIND_ADDRESS"]
    password = _agent_password(site, "agent-101")
    common = tmp_path / "common.txt"
    common.write_text("\n".join([*COMMON_PASSWORDS, *(f"agent-101{i}" for i in range(20))]))
    async with ban_guard(site, observer) as guarded:
        assert await request_status("OPTIONS", CRACKER, center) != "SIP/2.0 403 Forbidden"
        # 1. A dictionary of common passwords: nothing found (the agents' passwords are
        # random), and the failures get the address banned.
        run = await svcrack(CRACKER, common, center)
        assert "The password for" not in run.output, run.output[-2000:]
        assert "found nothing" in run.output or run.stopped, run.output[-2000:]
        await eventually(lambda: CRACKER in guarded.guard.banned(), timeout=5)
        # 2. Banned (once Asterisk has reloaded the ACL): every request from there gets 403
        # before authentication. (svcrack is not run again: on 403 it resends without end.)
        await answered(FORBIDDEN, "REGISTER", CRACKER, center, "agent-101")
        # Other addresses are not affected.
        assert await request_status("OPTIONS", MAPPER, center) != "SIP/2.0 403 Forbidden"
        banned = logged(guarded.log, "sip.address_banned")
        assert [b["address"] for b in banned] == [CRACKER]
        assert banned[0]["failures"] == 5 and banned[0]["account"] == "agent-101"
        assert password not in guarded.log.getvalue()
        figures = metrics(guarded.guard)
        assert "stadtruf_sip_banned_addresses 1.0" in figures
        assert "stadtruf_sip_bans_total 1.0" in figures


async def svcrack(source: str, dictionary: Path, center: str) -> Run:
    return await run_tool(
        "svcrack",
        source,
        "-u",
        "agent-101",
        "-d",
        str(dictionary),
        "--maximumtime=5",
        center,
        timeout=8,
    )


async def test_a_ban_lifts_itself_after_its_time(site: Site, observer: Observer) -> None:
    center = site.center.settings.template_values()["BIND_ADDRESS"]
    async with ban_guard(site, observer, ban_s=5) as guarded:
        for _ in range(5):
            await request_status("REGISTER", CALLER, center, "no-such-account")
        await eventually(lambda: CALLER in guarded.guard.banned(), timeout=5)
        await answered(FORBIDDEN, "OPTIONS", CALLER, center)
        await eventually(lambda: CALLER not in guarded.guard.banned(), timeout=15)
        await eventually(lambda: bool(logged(guarded.log, "sip.ban_lifted")), timeout=5)
        await answered(CHALLENGED, "OPTIONS", CALLER, center)
        assert "stadtruf_sip_banned_addresses 0.0" in metrics(guarded.guard)


async def test_svwar_enumerates_no_extension_and_svmap_only_the_server(
    site: Site, observer: Observer, tmp_path: Path
) -> None:
    center = site.center.settings.template_values()["BIND_ADDRESS"]
    names = tmp_path / "extensions.txt"
    names.write_text("\n".join([*AGENTS, "agent-199", "100", "101", "200", "carrier"]) + "\n")
    # A higher limit while enumerating: a ban in the middle of a scan turns every later
    # answer into 403, which svwar reads as "exists" for whatever it asks (noise, not a leak).
    async with ban_guard(site, observer, max_failures=40) as guarded:
        run = await run_tool("svmap", MAPPER, center, timeout=30)
        assert f"{center}:5060" in run.output, run.output[-2000:]
        for method in ("REGISTER", "INVITE", "OPTIONS"):
            run = await run_tool(
                "svwar",
                WARDIALER,
                "-d",
                str(names),
                "-m",
                method,
                "--force",
                "--maximumtime=5",
                center,
                timeout=30,
            )
            # The agents answer as the made-up names do (a challenge): nothing singled out.
            assert not singled_out(run), run.output[-2000:]
        assert MAPPER not in guarded.guard.banned()


async def test_invites_from_an_unknown_address_to_expensive_numbers_are_refused(
    site: Site, observer: Observer, carrier: TestCarrier
) -> None:
    center = site.center.settings.template_values()["BIND_ADDRESS"]
    async with ban_guard(site, observer):
        since = observer.mark()
        for number in (INTERNATIONAL, PREMIUM):
            status = await request_status("INVITE", CALLER, center, number)
            assert status.startswith(("SIP/2.0 401", "SIP/2.0 403")), status
        await nothing_reaches_the_carrier(carrier, observer, since)
        assert not observer.matching(lambda e: e.type == "ChannelCreated", since=since)


def reported(run: Run) -> set[str]:
    """The extensions in svwar's result table (``| agent-101 | reqauth |``)."""
    rows = [line.split("|") for line in run.output.splitlines() if line.startswith("| ")]
    return {row[1].strip() for row in rows if len(row) > 2} - {"Extension"}


def singled_out(run: Run) -> bool:
    """Whether svwar told the real agents apart: some reported, and only real ones."""
    found = reported(run)
    return bool(found) and found <= set(AGENTS)


def _agent_password(site: Site, agent: str) -> str:
    text = (site.center.etc / "pjsip_agents.conf").read_text()
    section = text.split(f"[{agent}]", 2)
    for line in "".join(section[1:]).splitlines():
        if line.startswith("password = "):
            return line.removeprefix("password = ").strip()
    raise AssertionError(f"no password for {agent} in pjsip_agents.conf")
