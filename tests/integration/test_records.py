"""A record for every call, over real SIP: the same run of calls lands in SQLite and in
PostgreSQL (a real server, tests/support/postgres.py) with the right outcomes and times; and
a `stadtruf up` killed with SIGKILL while calls are up leaves none without a record.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from ari_app.events import Event
from stadtruf.core.hours import BERLIN
from stadtruf.core.lifecycle import AgentRang, Ended, Happened, LifeEvent
from stadtruf.core.record import CallRecord
from stadtruf.store import records_db
from stadtruf.store.records import RecordStore
from stadtruf.store.records_schema import call_records, from_row
from stadtruf.testcall import OutboundCall, TestCarrier
from tests.integration.conftest import OPEN_AT, Site
from tests.integration.phones import Phones
from tests.integration.support import Observer, eventually, on_channel
from tests.integration.test_menus import press
from tests.integration.test_queue import queue_service, queued, talking
from tests.integration.test_up import (
    CARRIER,
    CENTER,
    PHONES,
    _asterisks_of,
    connected,
    start_up,
)
from tests.support.postgres import PostgresServer


class ShiftedClock:
    """The app's wall clock: real time moved to `moment` (Berlin); the test moves it on."""

    def __init__(self, moment: str) -> None:
        self.offset = 0.0
        self.set(moment)

    def set(self, moment: str) -> None:
        target = datetime.fromisoformat(moment).replace(tzinfo=BERLIN).timestamp()
        self.offset = target - time.time()

    def __call__(self) -> float:
        return time.time() + self.offset


class FanOut:
    """Both databases get every event (as one store would), and the test sees them too."""

    def __init__(self, *stores: RecordStore) -> None:
        self.stores = stores
        self.seen: list[Happened] = []

    def record(self, happened: Happened) -> None:
        self.seen.append(happened)
        for store in self.stores:
            store.record(happened)

    def wrap_up(self, call_id: str, seconds: float) -> None:
        for store in self.stores:
            store.wrap_up(call_id, seconds)

    def saw(self, call: str, event: LifeEvent) -> bool:
        return any(h.call_id == call and h.event == event for h in self.seen)

    def ended(self, call: str) -> bool:
        return any(h.call_id == call and isinstance(h.event, Ended) for h in self.seen)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def rows(url: str) -> dict[str, CallRecord]:
    engine = records_db.connect(url)
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.select(call_records))
            return {r.call_id: r for r in (from_row(row._mapping) for row in result)}
    finally:
        engine.dispose()


def stamp(event: Event, clock: ShiftedClock) -> float:
    """When Asterisk says `event` happened, on the app's clock (offset as it was then)."""
    moment = datetime.strptime(str(event.raw["timestamp"]), "%Y-%m-%dT%H:%M:%S.%f%z")
    return moment.timestamp() + clock.offset


class Observed:
    """What the test saw of each call through the observer: arrival and end."""

    def __init__(self, observer: Observer, clock: ShiftedClock) -> None:
        self.observer = observer
        self.clock = clock
        self.arrived: dict[str, float] = {}
        self.ended: dict[str, float] = {}

    async def arrival(self, caller: str, since: int) -> str:
        # The dialplan hands a new call straight to the app: created ≈ arrived.
        channel = await self.observer.channel_of_caller(caller, since=since)
        [created] = self.observer.matching(on_channel(channel, "ChannelCreated"), since=since)
        self.arrived[channel] = stamp(created, self.clock)
        return channel

    async def end(self, channel: str, since: int) -> None:
        event = await self.observer.wait_for(on_channel(channel, "ChannelDestroyed"), since=since)
        self.ended[channel] = stamp(event, self.clock)


async def a_call(
    carrier: TestCarrier, observed: Observed, number: str, caller: str
) -> tuple[OutboundCall, str, int]:
    since = observed.observer.mark()
    call = await carrier.call(number, caller=caller)
    channel = await observed.arrival(caller, since)
    await observed.observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
    return call, channel, since


async def test_every_call_is_recorded_in_sqlite_and_postgresql(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    urls = {
        "sqlite": f"sqlite:///{tmp_path}/anrufe.sqlite",
        "postgresql": postgres.create_database(f"calls_{os.getpid()}"),
    }
    clock = ShiftedClock(OPEN_AT)
    stores = [RecordStore.open(url, caller_number="full", clock=clock) for url in urls.values()]
    fan = FanOut(*stores)
    observed = Observed(observer, clock)
    expected: dict[str, str] = {}
    phones.behaviour.update({"agent-101": "answer", "agent-102": "ring", "agent-103": "busy"})
    try:
        async with queue_service(site, tmp_path, logged_in=(), clock=clock, records=fan) as svc:
            queue = svc.queue
            assert queue is not None
            # In the menu: the caller hangs up during the greeting.
            call, channel, since = await a_call(carrier, observed, "02041700", "02041555901")
            await call.hangup()
            await observed.end(channel, since)
            expected[channel] = "abandoned_menu"

            # Transferred by the menu (3: the waste office), which answers and hangs up.
            call, channel, since = await a_call(carrier, observed, "02041700", "02041555902")
            await press(call, observer, channel, "3")
            incoming = await asyncio.wait_for(carrier.incoming.get(), 30)
            # The call left the app for the dialplan, which dialled the office just now.
            observed.ended[channel] = clock()
            await carrier.rest.answer(incoming.raw["channel"]["id"])
            await carrier.rest.hangup(incoming.raw["channel"]["id"])
            await call.wait_ended()
            expected[channel] = "transferred"

            # Closed (20:00): the announcement, the callback offer; the caller hangs up.
            clock.set("2026-06-03T20:00")
            call, channel, since = await a_call(carrier, observed, "02041700", "02041555903")
            await call.hangup()
            await observed.end(channel, since)
            expected[channel] = "closed"
            await eventually(lambda: fan.ended(channel))  # the app's clock moves on after
            clock.set(OPEN_AT)

            # Overflow: ordnungsamt's maximum wait (2 s) ends in an announcement.
            since = observer.mark()
            call, channel = await queued(carrier, observer, "02041700", "02041555904", "4")
            await observed.arrival("02041555904", since)
            await call.wait_ended(timeout=30)
            await observed.end(channel, since)
            expected[channel] = "overflow"

            # Abandoned in the queue: nobody logged in; the caller gives up.
            since = observer.mark()
            call, channel = await queued(carrier, observer, "02041700", "02041555905", "0")
            await observed.arrival("02041555905", since)
            await call.hangup()
            await observed.end(channel, since)
            expected[channel] = "abandoned_queue"
            # The queue has let the caller go before agents log in: else, on a busy machine,
            # the engine rings agent-102 for the caller it has not yet seen leave, and the
            # record says "abandoned_ringing" (the observer sees the hangup before the app).
            await eventually(lambda: fan.ended(channel), timeout=10)

            # Agents: agent-102 (rung first) never answers, agent-101 answers.
            await queue.login("agent-102")
            await queue.login("agent-101")

            # Abandoned while ringing.
            since = observer.mark()
            call, channel = await queued(carrier, observer, "02041700", "02041555906", "0")
            await observed.arrival("02041555906", since)
            await eventually(lambda: fan.saw(channel, AgentRang("agent-102")), timeout=10)
            await call.hangup()
            await observed.end(channel, since)
            expected[channel] = "abandoned_ringing"

            # Answered (by agent-101 after agent-102's ring times out); the caller hangs up.
            since = observer.mark()
            call, channel = await queued(carrier, observer, "02041700", "02041555907", "0")
            await observed.arrival("02041555907", since)
            await phones.next_answered()
            bridge = await talking(observer, since)
            answered_seen = clock()
            await call.hangup()
            await observed.end(channel, since)
            await observer.wait_for(
                lambda e: e.type == "BridgeDestroyed" and e.bridge_id == bridge, since=since
            )
            expected[channel] = "answered"
    finally:
        for store in stores:
            await asyncio.to_thread(store.close)

    for name, url in urls.items():
        records = rows(url)
        assert {c: r.outcome for c, r in records.items()} == expected, name
        for channel, record in records.items():
            assert abs(record.arrived_at - observed.arrived[channel]) < 1, (name, record)
            assert record.ended_at is not None
            assert abs(record.ended_at - observed.ended[channel]) < 1, (name, record)
        answered = next(r for r in records.values() if r.outcome == "answered")
        assert answered.agent == "agent-101" and answered.answered_at is not None
        assert abs(answered.answered_at - answered_seen) < 1, name
        closed = next(r for r in records.values() if r.outcome == "closed")
        assert closed.client == "bottrop" and closed.route_cause == "closed"
        overflow = next(r for r in records.values() if r.outcome == "overflow")
        assert overflow.topic == "ordnungsamt" and overflow.overflow_action == "announce"
        transferred = next(r for r in records.values() if r.outcome == "transferred")
        assert transferred.transfer_target == "0204170350"


async def test_a_killed_app_leaves_no_call_without_a_record(tmp_path: Path) -> None:
    env = dict(os.environ, STADTRUF_RUN_DIR=str(tmp_path))
    env.pop("STADTRUF_ARI_PASSWORD", None)
    args = (
        *("--clock-start", OPEN_AT, "--no-test-phones"),
        *("--address", CENTER, "--carrier-address", CARRIER, "--agents-address", PHONES),
    )
    process = await start_up(env, *args)
    callers = ("02041555951", "02041555952")
    try:
        await connected(process)
        password = (tmp_path / "ari-password").read_text().strip()
        async with aiohttp.ClientSession() as session:
            carrier = TestCarrier(session, f"http://{CARRIER}:8088/ari", "stadtruf", password)
            await carrier.start()
            calls = [await carrier.call("02041700", caller=c) for c in callers]
            assert len(calls) == len(callers)
            await asyncio.sleep(2)  # both in the menu, their arrival written
            process.send_signal(signal.SIGKILL)
            await process.wait()
            # The test carrier was `up`'s too: it dies with it, and the calls with it.
            with contextlib.suppress(Exception):
                await carrier.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with asyncio.timeout(20):
        while _asterisks_of(tmp_path):
            await asyncio.sleep(0.2)
    # The next start closes what the killed process left open, as "lost".
    process = await start_up(env, *args)
    try:
        await connected(process)
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            await process.wait()
    with sqlite3.connect(tmp_path / "anrufe.sqlite") as db:
        found = db.execute("SELECT caller, outcome, ended_at FROM call_records").fetchall()
    assert len(found) == len(callers), found
    assert all(outcome == "lost" and ended is not None for _, outcome, ended in found), found
