"""Issue 10 over real SIP: /metrics shows who waits, per client and topic, while they wait.

Two Bottrop callers press 0 (Vermittlung) and wait; no agent is logged in, so nobody answers.
The app's API is scraped as Prometheus would, with the metrics token.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from stadtruf.api.agent_api import ApiServer, make_api
from stadtruf.api.auth import ApiAuth
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import Site
from tests.integration.phones import Phones
from tests.integration.support import Observer, eventually, on_channel
from tests.integration.test_queue import queue_of, queue_service, queued

METRICS_TOKEN = "Prometheus-it-3b9d"
BOTTROP_WAITING = (("client", "bottrop"), ("topic", "vermittlung"))


async def scrape(
    session: aiohttp.ClientSession, url: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
        text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_show_the_callers_waiting_per_client_and_topic(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    async with (
        queue_service(site, tmp_path, logged_in=()) as service,
        aiohttp.ClientSession() as session,
    ):
        queue = queue_of(service)
        assert service.figures is not None
        auth = ApiAuth(metrics_token=METRICS_TOKEN)
        server = ApiServer(make_api(queue, auth, None, queue.clock, service.figures))
        await server.start("127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.port}/metrics"
        try:
            # Bottrop's switchboard and a 115 call from a Bottrop area code: the same client.
            placed = await asyncio.gather(
                queued(carrier, observer, "02041700", "02041555601"),
                queued(carrier, observer, "115", "02041555602"),
            )
            await eventually(lambda: len(queue.state.callers) == 2, timeout=10)
            values = await scrape(session, url)
            assert values["stadtruf_queue_callers_waiting", BOTTROP_WAITING] == 2
            assert values["stadtruf_queue_longest_wait_seconds", BOTTROP_WAITING] >= 0
            assert values["stadtruf_agents", (("state", "logged_out"),)] == 3
            others = (("client", "dinslaken"), ("topic", "vermittlung"))
            assert values["stadtruf_queue_callers_waiting", others] == 0

            since = observer.mark()
            for call, channel in placed:
                await call.hangup()
                await observer.wait_for(on_channel(channel, "ChannelDestroyed"), since=since)
            await eventually(lambda: not queue.state.callers, timeout=10)
            abandoned = (
                ("client", "bottrop"),
                ("outcome", "abandoned_queue"),
                ("topic", "vermittlung"),
            )

            async def counted() -> bool:
                values = await scrape(session, url)
                return values.get(("stadtruf_calls_total", abandoned)) == 2

            async with asyncio.timeout(10):
                while not await counted():
                    await asyncio.sleep(0.1)
            values = await scrape(session, url)
            assert values["stadtruf_queue_callers_waiting", BOTTROP_WAITING] == 0
            count = (("client", "bottrop"), ("result", "abandoned"))
            assert values["stadtruf_queue_wait_seconds_count", count] == 2
        finally:
            await server.close()
