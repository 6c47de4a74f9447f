"""The Stasis application against a fake ARI: one task per call, events in order per call,
resync after a reconnect, and no caller left in silence when a handler fails or the app stops."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import ari_app
from ari_app.application import (
    ADOPTED_CONVERSATION,
    APOLOGY_CONTEXT,
    APOLOGY_EXTEN,
    CONVERSATION_BRIDGE_PREFIX,
    HANDLED_EVENTS,
    REPLACES,
    CallContext,
    Resynced,
    StasisApplication,
    connect_ari,
)
from ari_app.errors import AriError, AriNotFound
from ari_app.events import Event
from ari_app.settings import AriSettings
from tests.support.fake_ari import FakeAri
from tests.support.fake_stream import FakeConnection, channel, channel_event, stasis_start
from tests.swagger import swagger_dir

SETTINGS = AriSettings(url="http://127.0.0.1:1/ari", user="stadtruf", password="x")
APOLOGY = {"context": APOLOGY_CONTEXT, "extension": APOLOGY_EXTEN, "priority": 1}


@dataclass
class Calls:
    """A call runner that hands each call's context to the test and runs until released."""

    started: asyncio.Queue[CallContext] = field(default_factory=asyncio.Queue)
    release: dict[str, asyncio.Event] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    finished: list[str] = field(default_factory=list)

    async def __call__(self, context: CallContext) -> None:
        self.started.put_nowait(context)
        release = self.release.setdefault(context.channel_id, asyncio.Event())
        await release.wait()
        if context.channel_id in self.failing:
            raise RuntimeError("the handler broke")
        self.finished.append(context.channel_id)

    async def next(self) -> CallContext:
        async with asyncio.timeout(2):
            return await self.started.get()

    def finish(self, channel_id: str) -> None:
        self.release.setdefault(channel_id, asyncio.Event()).set()


@dataclass
class Running:
    app: StasisApplication
    connection: FakeConnection
    calls: Calls
    task: asyncio.Task[None]

    @property
    def ari(self) -> FakeAri:
        return self.connection.ari

    async def push(self, *events: dict[str, Any]) -> None:
        for event in events:
            self.connection.stream.push(event)
        await self.connection.stream.delivered()

    async def stop(self) -> None:
        await self.app.stop()
        async with asyncio.timeout(2):
            await self.task


@contextlib.asynccontextmanager
async def running(
    ari: FakeAri | None = None,
    routes: dict[str, Calls] | None = None,
    setup: Callable[[StasisApplication], None] | None = None,
) -> AsyncIterator[Running]:
    connection = FakeConnection(ari)
    calls = Calls()
    app = StasisApplication(SETTINGS, calls, routes=routes, connect=connection)
    if setup is not None:
        setup(app)
    task = asyncio.create_task(app.run())
    async with asyncio.timeout(2):
        await app.ready.wait()
    run = Running(app, connection, calls, task)
    try:
        yield run
    finally:
        if not task.done():
            await run.stop()


def in_stasis(channel_id: str, app_data: str = "stadtruf") -> dict[str, Any]:
    return channel(channel_id, app_data=app_data)


# --- One task per call ---------------------------------------------------------------------


async def test_each_call_gets_its_own_context_and_events_in_order() -> None:
    async with running() as run:
        await run.push(stasis_start("c1", exten="02041700", caller="0203555333"))
        first = await run.calls.next()
        await run.push(stasis_start("c2"))
        second = await run.calls.next()
        assert (first.channel_id, first.dialled, first.caller_number) == (
            "c1",
            "02041700",
            "0203555333",
        )
        assert first.rest is run.ari and first.args == ()
        assert run.app.active_calls == 2

        await run.push(
            channel_event("ChannelDtmfReceived", "c1", digit="1"),
            channel_event("ChannelDtmfReceived", "c2", digit="9"),
            channel_event("ChannelDtmfReceived", "c1", digit="2"),
        )
        assert [await next_digit(first), await next_digit(first)] == ["1", "2"]
        assert await next_digit(second) == "9"
        assert first.events.empty() and second.events.empty()

        await run.push(channel_event("StasisEnd", "c1"))
        assert first.ended.is_set() and not second.ended.is_set()
        run.calls.finish("c1")
        await wait_until(lambda: run.app.active_calls == 1)
        assert run.calls.finished == ["c1"]


async def test_a_second_stasis_start_for_a_known_channel_is_ignored() -> None:
    async with running() as run:
        await run.push(stasis_start("c1"), stasis_start("c1"))
        await run.calls.next()
        assert run.calls.started.empty() and run.app.active_calls == 1


async def test_events_no_call_takes_go_to_the_hooks() -> None:
    seen: list[Event] = []
    async with running(setup=lambda app: app.on_event.append(seen.append)) as run:
        await run.push(
            channel_event("ChannelStateChange", "ring-1"),
            {"type": "EndpointStateChange", "endpoint": {"resource": "agent-101"}},
        )
        assert [e.type for e in seen] == ["ChannelStateChange", "EndpointStateChange"]


async def test_the_first_stasis_argument_picks_the_runner() -> None:
    legs = Calls()
    async with running(routes={"agent-leg": legs}) as run:
        await run.push(stasis_start("leg-1", "agent-leg", "c1"), stasis_start("c2", "other"))
        leg = await legs.next()
        assert (leg.channel_id, leg.args) == ("leg-1", ("agent-leg", "c1"))
        assert (await run.calls.next()).args == ("other",)


async def test_a_channel_swapped_in_by_a_transfer_runs_as_a_replacement() -> None:
    replacements = Calls()
    async with running(routes={REPLACES: replacements}) as run:
        await run.push(stasis_start("local-1", "ignored", replaces="c1"))
        context = await replacements.next()
        assert context.args == (REPLACES, "c1")


# --- No caller left in silence ----------------------------------------------------------


async def test_a_failing_handler_sends_the_caller_to_the_apology() -> None:
    async with running() as run:
        await run.push(stasis_start("c1"))
        await run.calls.next()
        run.calls.failing.add("c1")
        run.calls.finish("c1")
        [sent] = await run.ari.wait_for("continue_in_dialplan")
        assert sent == {"channel_id": "c1", **APOLOGY}
        await wait_until(lambda: run.app.active_calls == 0)


async def test_a_failing_handler_of_a_call_that_ended_sends_nothing() -> None:
    async with running() as run:
        await run.push(stasis_start("c1"))
        await run.calls.next()
        await run.push(channel_event("ChannelDestroyed", "c1"))
        run.calls.failing.add("c1")
        run.calls.finish("c1")
        await wait_until(lambda: run.app.active_calls == 0)
        assert run.ari.calls("continue_in_dialplan") == []


@pytest.mark.parametrize(
    ("failure", "hung_up"),
    [
        (AriNotFound(404, "POST", "/channels/c1/continue", "Channel not found"), False),
        (AriError(500, "POST", "/channels/c1/continue", "boom"), True),
    ],
)
async def test_when_the_apology_fails(failure: AriError, hung_up: bool) -> None:
    # Gone meanwhile: nothing left to do. Any other error: hang up rather than leave silence.
    ari = FakeAri()
    ari.failures["continue_in_dialplan"] = failure
    async with running(ari) as run:
        await run.push(stasis_start("c1"))
        await run.calls.next()
        run.calls.failing.add("c1")
        run.calls.finish("c1")
        await wait_until(lambda: run.app.active_calls == 0)
        assert [c["channel_id"] for c in ari.calls("hangup")] == (["c1"] if hung_up else [])


async def test_stop_hands_calls_back_except_conversations_and_ended_calls() -> None:
    stopped: list[str] = []

    async def on_stop() -> None:
        stopped.append("hook")

    async with running(setup=lambda app: app.on_stop.append(on_stop)) as run:
        await run.push(stasis_start("menu"), stasis_start("talking"), stasis_start("gone"))
        contexts = {c.channel_id: c for c in [await run.calls.next() for _ in range(3)]}
        contexts["talking"].hand_back_on_stop = False
        await run.push(channel_event("StasisEnd", "gone"))
        await run.stop()
        assert [c["channel_id"] for c in run.ari.calls("continue_in_dialplan")] == ["menu"]
        assert stopped == ["hook"]
        assert run.app.active_calls == 0
        assert run.calls.finished == []  # cancelled, not run to the end


async def test_a_call_arriving_while_the_app_stops_goes_to_the_apology() -> None:
    async with running() as run:
        run.connection.stream.push(stasis_start("late"))
        await run.stop()  # stop() comes before the app takes the event
        assert run.calls.started.empty()
        assert run.ari.calls("continue_in_dialplan") == [{"channel_id": "late", **APOLOGY}]


# --- Resync: Asterisk is the store of record ---------------------------------------------


async def test_calls_that_entered_stasis_while_away_are_adopted() -> None:
    ari = FakeAri()
    async with running(ari) as run:
        ari.answers["list_channels"] = [
            in_stasis("new", app_data="stadtruf,agent-leg,c9"),
            in_stasis("talking"),
            in_stasis("elsewhere", app_data="otherapp"),
            channel("dialplan-only", app_data=None),
        ]
        ari.answers["list_bridges"] = [
            {"id": f"{CONVERSATION_BRIDGE_PREFIX}c7", "channels": ["talking", "agent-leg-7"]},
            {"id": "stadtruf-queue-kfz", "channels": ["new"]},
        ]
        run.app.ready.clear()
        run.connection.stream.reconnect()
        await run.connection.stream.delivered()
        adopted = {c.channel_id: c.args for c in [await run.calls.next() for _ in range(2)]}
        assert adopted == {
            "new": ("agent-leg", "c9"),
            "talking": (ADOPTED_CONVERSATION, f"{CONVERSATION_BRIDGE_PREFIX}c7"),
        }
        assert run.calls.started.empty()
        assert run.app.ready.is_set() and run.connection.stream.connects == 2


async def test_calls_that_ended_while_away_are_dropped() -> None:
    ari = FakeAri()
    connected: list[int] = []

    async def on_connect() -> None:
        connected.append(len(connected))

    async with running(ari, setup=lambda app: app.on_connect.append(on_connect)) as run:
        await run.push(stasis_start("stays"), stasis_start("gone"))
        contexts = {c.channel_id: c for c in [await run.calls.next() for _ in range(2)]}
        ari.answers["list_channels"] = [in_stasis("stays")]
        run.connection.stream.reconnect()
        await run.connection.stream.delivered()
        assert contexts["gone"].ended.is_set() and not contexts["stays"].ended.is_set()
        # The gone call's handler gets the hang-up it missed, and ends the call as usual; the
        # other one learns that events of the gap may be lost.
        missed = contexts["gone"].events.get_nowait()
        assert isinstance(missed, Event) and missed.type == "ChannelDestroyed"
        assert isinstance(contexts["stays"].events.get_nowait(), Resynced)
        run.calls.finish("gone")
        await wait_until(lambda: run.app.active_calls == 1)
        assert connected == [0, 1]  # after the first connect and after the reconnect
        assert run.ari.calls("continue_in_dialplan") == []


# --- The REST client ------------------------------------------------------------------------


def test_the_rest_client_exists_only_while_running() -> None:
    app = StasisApplication(SETTINGS, Calls())
    with pytest.raises(RuntimeError, match="not running"):
        _ = app.rest


async def test_the_real_connection_is_our_ari_client_and_event_stream() -> None:
    import aiohttp

    from ari_app.rest import AriRest
    from ari_app.stream import EventStream

    async def resync() -> None:
        pass

    async with aiohttp.ClientSession() as session:
        rest, events = connect_ari(session, SETTINGS, resync)
        assert isinstance(rest, AriRest) and isinstance(events, EventStream)
        assert rest.base_url == SETTINGS.url
        await events.close()


async def next_digit(context: CallContext) -> str | None:
    event = await context.next_event()
    assert isinstance(event, Event)
    return event.digit


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Let the app's tasks run until `condition` holds (task ends are not events we can await)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0)


async def test_each_connect_asks_asterisk_to_keep_the_events_no_part_reads() -> None:
    async with running() as run:
        (request,) = run.ari.calls("filter_events")
        assert request == {"app": SETTINGS.app, "allowed": list(HANDLED_EVENTS), "disallowed": []}
        assert "ChannelVarset" not in HANDLED_EVENTS and "ChannelDtmfReceived" in HANDLED_EVENTS


async def test_an_asterisk_without_the_event_filter_still_gets_the_app() -> None:
    ari = FakeAri()
    ari.failures["filter_events"] = AriError(405, "PUT", "/applications/stadtruf/eventFilter", "")
    async with running(ari) as run:
        await run.push(stasis_start("c1"))
        assert (await run.calls.next()).channel_id == "c1"


def test_the_event_filter_lets_through_every_event_type_the_app_reads() -> None:
    """A part that starts reading an event type must add it to HANDLED_EVENTS, or Asterisk
    never sends it: every ARI event name quoted in the app's code is in the filter."""
    events = swagger_dir() / "events.json"
    if not events.exists():
        pytest.fail(f"Asterisk Swagger files not found in {events.parent}: run ./dev test")
    known = set(json.loads(events.read_text())["models"])
    app_dir = Path(ari_app.__file__).parent
    quoted = {
        name
        for path in app_dir.rglob("*.py")
        if path.name != "events.py"  # the event model itself, not a reader of any type
        for name in re.findall(r'"([A-Z][A-Za-z]+)"', path.read_text())
        if name in known
    }
    assert quoted, "no event type found: the scan is broken"
    assert quoted <= set(HANDLED_EVENTS), quoted - set(HANDLED_EVENTS)
