"""Issue #11 over real SIP: without the Stasis app a call still reaches a person (fail-open).

The queue adapter runs (the app connected), agents log in, pause and log out through it, and
it mirrors them into Asterisk (device states `Stasis:stadtruf-<agent>`). Then the app stops:
`Stasis()` fails, and `dialplan/stadtruf.conf` [stadtruf-fallback] marks the call through
FastAGI and rings, with the rendered [stadtruf-fallback-agents], the agents logged in and not
paused, whose phones are registered and free. Without the FastAGI server the call still rings
them, unmarked; with nobody ready the caller is answered, held, and rung through as soon as an
agent is.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import aiohttp
import pytest

from stadtruf.core.fallback import NOT_READY, READY, mirror_device
from stadtruf.testcall import OutboundCall, TestCarrier
from tests.integration.conftest import TEST_AGENTS, Site
from tests.integration.phones import Phones, Ring
from tests.integration.support import Observer, eventually
from tests.integration.test_fastagi import agi_settings, fastagi_server
from tests.integration.test_queue import queue_of, queue_service
from tests.support.addresses import TEST_PLAN

DINSLAKEN_CALLER = "02064123456"  # area code 02064: Dinslaken


@pytest.fixture(autouse=True)
async def nobody_mirrored(observer: Observer) -> AsyncIterator[None]:
    """Each test starts and ends with no agent ready in the mirror (it outlives the app)."""
    for agent in TEST_AGENTS:
        await observer.rest.set_device_state(mirror_device(agent), NOT_READY)
    yield
    for agent in TEST_AGENTS:
        await observer.rest.set_device_state(mirror_device(agent), NOT_READY)


async def mirror_then_stop_the_app(
    site: Site,
    tmp_path: Path,
    logged_in: Iterable[str],
    *,
    logged_out: Iterable[str] = (),
    paused: Iterable[str] = (),
) -> None:
    """The app runs, agents log in (and out, and pause) through it; then the app stops."""
    async with queue_service(site, tmp_path, logged_in=()) as service:
        queue = queue_of(service)
        for agent in logged_in:
            await queue.login(agent)
        for agent in logged_out:
            await queue.logout(agent)
        for agent in paused:
            await queue.pause(agent, "Pause")


async def fallback_call(
    carrier: TestCarrier, phones: Phones, observer: Observer, caller: str = DINSLAKEN_CALLER
) -> tuple[OutboundCall, Ring]:
    """A call to 115 while the app is stopped; returns once an agent answered."""
    since = observer.mark()
    call = await carrier.call("115", caller=caller, caller_name="Max", answer_timeout=20)
    try:
        ring = await phones.next_answered(timeout=20)
    except BaseException:
        await call.hangup()
        raise
    assert not observer.matching(lambda e: e.type == "StasisStart", since=since), "went to Stasis"
    return call, ring


async def end(call: OutboundCall, phones: Phones, ring: Ring) -> None:
    await call.hangup()
    await eventually(lambda: ring.channel_id in phones.ended, timeout=10)


async def logged(site: Site, text: str) -> None:
    await eventually(lambda: text in site.center.log_file.read_text(errors="replace"), timeout=5)


async def test_with_the_app_stopped_a_dinslaken_call_to_115_reaches_an_agent_marked_by_fastagi(
    site: Site,
    carrier: TestCarrier,
    phones: Phones,
    observer: Observer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    await mirror_then_stop_the_app(site, tmp_path, logged_in=["agent-101"])
    phones.behaviour.update({"agent-101": "answer", "agent-102": "answer", "agent-103": "answer"})
    async with fastagi_server(site) as url, agi_settings(site, http, url):
        call, ring = await fallback_call(carrier, phones, observer)
    assert ring.agent == "agent-101"
    assert ring.origin_city == "Dinslaken"
    assert ring.caller_id_name.startswith("[DIN]"), ring.caller_id_name
    assert ring.caller_number == DINSLAKEN_CALLER
    assert [r.agent for r in phones.rings] == ["agent-101"]  # only the logged-in agent
    await end(call, phones, ring)
    # The caller's number shortened to its first five digits (privacy, docs/security.md).
    await logged(site, f"Anruf von {DINSLAKEN_CALLER[:5]}… an 115 geht ohne App an die")


async def test_with_the_fastagi_server_stopped_too_the_call_still_reaches_an_agent(
    site: Site,
    carrier: TestCarrier,
    phones: Phones,
    observer: Observer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    await mirror_then_stop_the_app(site, tmp_path, logged_in=["agent-101"])
    phones.behaviour["agent-101"] = "answer"
    nobody_listens = f"agi://{TEST_PLAN.servicecenter}:9"
    async with agi_settings(site, http, nobody_listens):
        started = time.monotonic()
        call, ring = await fallback_call(carrier, phones, observer)
    assert (ring.agent, ring.origin_city, ring.caller_id_name) == ("agent-101", "", "Max")
    assert ring.at - started < 5.0  # no waiting for a server that is not there
    await end(call, phones, ring)
    await logged(site, "stadtruf: FastAGI origin: UNAVAILABLE")


async def test_logged_out_and_paused_agents_are_not_rung_in_fallback(
    site: Site,
    carrier: TestCarrier,
    phones: Phones,
    observer: Observer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    await mirror_then_stop_the_app(
        site, tmp_path, logged_in=TEST_AGENTS, logged_out=["agent-101"], paused=["agent-102"]
    )
    phones.behaviour.update({"agent-101": "answer", "agent-102": "answer", "agent-103": "answer"})
    async with fastagi_server(site) as url, agi_settings(site, http, url):
        call, ring = await fallback_call(carrier, phones, observer)
    assert ring.agent == "agent-103"
    assert [r.agent for r in phones.rings] == ["agent-103"]
    await end(call, phones, ring)


async def test_with_nobody_ready_the_caller_is_held_and_rung_through_once_an_agent_is(
    site: Site,
    carrier: TestCarrier,
    phones: Phones,
    observer: Observer,
    http: aiohttp.ClientSession,
) -> None:
    # No app at all: the mirror says nobody (the fixture). The caller is answered, hears the
    # apology and hold music, not silence and not a goodbye.
    phones.behaviour["agent-101"] = "answer"
    async with fastagi_server(site) as url, agi_settings(site, http, url):
        call = await carrier.call("115", caller=DINSLAKEN_CALLER, caller_name="Max")
        try:
            await logged(site, f"stadtruf: fallback: no agent free for {DINSLAKEN_CALLER[:5]}…")
            assert not phones.rings
            # An agent becomes ready (as the app would mirror a login): the next round rings.
            await observer.rest.set_device_state(mirror_device("agent-101"), READY)
            ring = await phones.next_answered(timeout=30)  # apology ~4 s, then rounds of 10 s
        except BaseException:
            await call.hangup()
            raise
    assert (ring.agent, ring.origin_city) == ("agent-101", "Dinslaken")
    assert not call.ended.is_set()
    await end(call, phones, ring)
