"""Issue #11 over real SIP: a classic dialplan marks the call through `stadtruf agi`, no Stasis.

The carrier dials 999 + Bottrop's switchboard; the test's route (conftest.FASTAGI_ROUTE) hands
it as 02041700 to `dialplan/examples/fastagi.conf`, the admin's example as committed: FastAGI
`origin` and `open`, then Dial of the agent with the header pre-dial handler. The agent's phone
shows "[BOT] …" and gets X-Origin-City: Bottrop. With the FastAGI server gone (nothing
listens) or hanging (accepts, never answers), the call still reaches the agent, unmarked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest

from agi.server import AgiServer
from stadtruf.asterisk.topology import ARI_USER
from stadtruf.core.hours import BERLIN
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import Site
from tests.integration.phones import Phones, Ring
from tests.integration.support import Observer, eventually
from tests.support.addresses import TEST_PLAN

BOTTROP_SWITCHBOARD = "02041700"
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)  # Bottrop is open


async def set_global(site: Site, http: aiohttp.ClientSession, name: str, value: str) -> None:
    """What an admin writes into [globals] (extensions.conf), here over ARI."""
    async with http.post(
        f"{site.center.settings.ari_url}/asterisk/variable",
        params={"variable": name, "value": value},
        headers={"Authorization": aiohttp.encode_basic_auth(ARI_USER, site.password)},
    ) as response:
        assert response.status == 204, await response.text()


@contextlib.asynccontextmanager
async def agi_settings(
    site: Site, http: aiohttp.ClientSession, url: str, timeout: str = "2"
) -> AsyncIterator[None]:
    await set_global(site, http, "STADTRUF_AGI", url)
    await set_global(site, http, "STADTRUF_AGI_TIMEOUT", timeout)
    try:
        yield
    finally:
        await set_global(site, http, "STADTRUF_AGI", "")
        await set_global(site, http, "STADTRUF_AGI_TIMEOUT", "")


@contextlib.asynccontextmanager
async def fastagi_server(site: Site) -> AsyncIterator[str]:
    """`stadtruf agi` in this process, on the ServiceCenter's address; yields its URL."""
    app = AgiServer(lambda: site.config, now=lambda: WEDNESDAY_10)
    server = await app.start(TEST_PLAN.servicecenter, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"agi://{TEST_PLAN.servicecenter}:{port}"
    finally:
        await app.close(server)


async def classic_call(carrier: TestCarrier, phones: Phones, observer: Observer) -> Ring:
    """A call to Bottrop's switchboard through the example; the agent answers. No Stasis."""
    async with asyncio.timeout(20):  # the phone registers once, at the start of the session
        while (await observer.rest.get_endpoint("PJSIP", "agent-101"))["state"] != "online":
            await asyncio.sleep(0.2)
    phones.behaviour["agent-101"] = "answer"
    since = observer.mark()
    call = await carrier.call("999" + BOTTROP_SWITCHBOARD, caller="0203555333", caller_name="Max")
    try:
        ring = await phones.next_answered(timeout=10)
    finally:
        await call.hangup()
    assert not observer.matching(lambda e: e.type == "StasisStart", since=since), "went to Stasis"
    return ring


async def logged(site: Site, text: str) -> None:
    log = site.center.directory / "log" / "messages.log"
    await eventually(lambda: text in log.read_text(errors="replace"), timeout=5)


async def test_a_classic_call_to_bottrops_switchboard_is_marked_by_fastagi(
    site: Site,
    carrier: TestCarrier,
    phones: Phones,
    observer: Observer,
    http: aiohttp.ClientSession,
) -> None:
    async with fastagi_server(site) as url, agi_settings(site, http, url):
        ring = await classic_call(carrier, phones, observer)
    assert ring.agent == "agent-101"
    assert ring.origin_city == "Bottrop"
    assert ring.caller_id_name == "[BOT] · Max"


async def test_without_the_fastagi_server_the_call_still_reaches_the_agent(
    site: Site,
    carrier: TestCarrier,
    phones: Phones,
    observer: Observer,
    http: aiohttp.ClientSession,
) -> None:
    # Nothing listens on this port: AGI() fails at once (AGISTATUS=FAILURE).
    with_nobody = f"agi://{TEST_PLAN.servicecenter}:9"
    async with agi_settings(site, http, with_nobody):
        started = time.monotonic()
        ring = await classic_call(carrier, phones, observer)
    assert (ring.agent, ring.origin_city, ring.caller_id_name) == ("agent-101", "", "Max")
    assert ring.at - started < 3.0  # no waiting for a server that is not there
    await logged(site, "stadtruf: FastAGI origin: UNAVAILABLE (AGISTATUS=FAILURE)")


async def test_a_hanging_fastagi_server_holds_the_call_only_for_the_time_bound(
    site: Site,
    carrier: TestCarrier,
    phones: Phones,
    observer: Observer,
    http: aiohttp.ClientSession,
) -> None:
    # Accepts the connection and reads, never answers: the dialplan's TIMEOUT(absolute) ends
    # the wait (T extension), the call goes on.
    held: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass

    server = await asyncio.start_server(hang, TEST_PLAN.servicecenter, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with agi_settings(site, http, f"agi://{TEST_PLAN.servicecenter}:{port}", "1"):
            started = time.monotonic()
            ring = await classic_call(carrier, phones, observer)
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()
    assert (ring.agent, ring.origin_city) == ("agent-101", "")
    # Two commands (origin, open), each waited for at most 1 s, then the agent rings.
    assert 2.0 <= ring.at - started < 5.0
    await logged(site, "stadtruf: FastAGI origin: no answer within 1 s, the call goes on")


pytestmark = pytest.mark.integration
