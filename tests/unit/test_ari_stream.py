"""EventStream against a fake ARI WebSocket on 127.0.0.1: reconnect, resync, bad frames, close."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from ari_app.events import Event
from ari_app.stream import EventStream, next_delay
from tests.unit.conftest import serve_on_loopback

USER = "stadtruf"
PASSWORD = "Geheim-7f3c!"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
FIXTURES = Path(__file__).parent / "ari_events"
HOLD = None  # script entry: keep the connection open until the client leaves


def frame(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


@dataclass
class FakeEvents:
    """/ari/events: one script of frames per connection, then it drops the connection."""

    scripts: list[list[str | bytes | None]] = field(default_factory=list)
    reject_first: int = 0  # answer the first N handshakes with 503 (Asterisk still starting)
    autoping: bool = True  # False: never answer pings, like a dead peer behind a NAT
    handshakes: int = 0
    connections: int = 0
    queries: list[dict[str, str]] = field(default_factory=list)
    pings: int = 0
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.handshakes += 1
        if request.headers.get("Authorization") != AUTH:
            return web.json_response({"message": "Authentication required"}, status=401)
        if self.reject_first > 0:
            self.reject_first -= 1
            return web.Response(status=503)
        self.queries.append(dict(request.query))
        ws = web.WebSocketResponse(autoping=self.autoping)
        await ws.prepare(request)
        index = self.connections
        self.connections += 1
        script = self.scripts[index] if index < len(self.scripts) else [HOLD]
        for item in script:
            if item is HOLD:
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.PING:
                        self.pings += 1
                return ws
            if isinstance(item, bytes):
                await ws.send_bytes(item)
            else:
                await ws.send_str(item)
        await ws.close()
        return ws


@pytest.fixture
async def fake() -> AsyncIterator[FakeEvents]:
    fake = FakeEvents()
    app = web.Application()
    app.router.add_get("/ari/events", fake.handle)
    async with serve_on_loopback(app) as base_url:
        fake.base_url = base_url
        yield fake


class Recorder:
    """Timeline of on_connect calls and received events, plus the backoff attempts asked for."""

    def __init__(self) -> None:
        self.timeline: list[str] = []
        self.attempts: list[int] = []
        self.connects = 0
        self.connected = asyncio.Event()

    async def on_connect(self) -> None:
        await asyncio.sleep(0.02)  # a resync takes a moment; events must wait for it
        self.connects += 1
        self.timeline.append("connect")
        self.connected.set()

    def delay(self, attempt: int) -> float:
        self.attempts.append(attempt)
        return 0.01


def make_stream(
    fake: FakeEvents, session: aiohttp.ClientSession, rec: Recorder, **kwargs: Any
) -> EventStream:
    options: dict[str, Any] = {
        "on_connect": rec.on_connect,
        "delay": rec.delay,
        "heartbeat": None,
        "healthy_after": 60.0,
    }
    options.update(kwargs)
    return EventStream(session, fake.base_url, "stadtruf", USER, PASSWORD, **options)


async def eventually(predicate: Callable[[], bool]) -> None:
    """Poll until true; callers bound the wait with asyncio.timeout."""
    for _ in itertools.count():
        if predicate():
            return
        await asyncio.sleep(0.005)


async def consume(stream: EventStream, rec: Recorder, *, stop_after: int) -> list[Event]:
    """Iterate until `stop_after` events arrived, then close() and expect the iteration to end."""
    events: list[Event] = []
    async for event in stream:
        events.append(event)
        rec.timeline.append(event.type)
        if len(events) == stop_after:
            await stream.close()
    return events


async def test_events_resync_and_reconnect(
    fake: FakeEvents, session: aiohttp.ClientSession
) -> None:
    fake.scripts = [
        [frame("stasis_start"), "not json {", b"\x00binary", '{"no": "type"}'],
        [frame("stasis_end"), HOLD],
    ]
    fake.scripts[0].append(frame("channel_dtmf_received"))
    rec = Recorder()
    stream = make_stream(fake, session, rec)
    with structlog.testing.capture_logs() as logs:
        async with asyncio.timeout(3):
            events = await consume(stream, rec, stop_after=3)
    assert rec.timeline == [
        "connect",
        "StasisStart",
        "ChannelDtmfReceived",
        "connect",
        "StasisEnd",
    ]
    assert events[1].digit == "1"
    assert fake.queries[0] == {"app": "stadtruf", "subscribeAll": "false"}
    assert fake.connections == 2
    names = [entry["event"] for entry in logs]
    assert names.count("ari.stream.bad_frame") == 3
    assert names.count("ari.stream.connected") == 2
    assert "ari.stream.disconnected" in names and "ari.stream.closed" in names
    assert PASSWORD not in repr(logs)


@pytest.mark.parametrize(("healthy_after", "expected"), [(60.0, [0, 1, 2, 3]), (0.0, [0, 1, 2, 0])])
async def test_backoff_grows_and_resets_after_healthy_connection(
    fake: FakeEvents, session: aiohttp.ClientSession, healthy_after: float, expected: list[int]
) -> None:
    fake.reject_first = 3
    fake.scripts = [[frame("stasis_start")], [frame("stasis_end"), HOLD]]
    rec = Recorder()
    stream = make_stream(fake, session, rec, healthy_after=healthy_after)
    async with asyncio.timeout(3):
        events = await consume(stream, rec, stop_after=2)
    assert [e.type for e in events] == ["StasisStart", "StasisEnd"]
    # Three refused handshakes, then the first connection drops after one event.
    assert rec.attempts == expected
    assert rec.connects == 2


async def test_close_during_backoff_ends_iteration(
    fake: FakeEvents, session: aiohttp.ClientSession
) -> None:
    fake.reject_first = 1_000
    rec = Recorder()
    stream = make_stream(fake, session, rec, delay=lambda attempt: 30.0)
    with structlog.testing.capture_logs() as logs:
        async with asyncio.timeout(2):
            task = asyncio.create_task(consume(stream, rec, stop_after=1))
            await eventually(lambda: fake.handshakes > 0)
            await asyncio.sleep(0.02)
            await stream.close()
            assert await task == []
    assert fake.handshakes == 1
    failed = [e for e in logs if e["event"] == "ari.stream.connect_failed"]
    assert failed and failed[0]["status"] == 503


async def test_close_while_connected_and_idle(
    fake: FakeEvents, session: aiohttp.ClientSession
) -> None:
    rec = Recorder()
    stream = make_stream(fake, session, rec)  # no script: the server just holds the line
    async with asyncio.timeout(2):
        task = asyncio.create_task(consume(stream, rec, stop_after=1))
        await rec.connected.wait()
        await asyncio.sleep(0.02)
        assert stream.connected
        await stream.close()
        assert await task == []
    assert not stream.connected
    assert fake.connections == 1


async def test_close_before_iterating_yields_nothing(
    fake: FakeEvents, session: aiohttp.ClientSession
) -> None:
    rec = Recorder()
    stream = make_stream(fake, session, rec)
    await stream.close()
    async with asyncio.timeout(1):
        assert [e async for e in stream] == []
    assert fake.handshakes == 0


async def test_heartbeat_detects_dead_connection(
    fake: FakeEvents, session: aiohttp.ClientSession
) -> None:
    fake.autoping = False  # the server swallows pings: to the client the peer is dead
    fake.scripts = [[HOLD], [frame("stasis_start"), HOLD]]
    rec = Recorder()
    stream = make_stream(fake, session, rec, heartbeat=0.1)
    async with asyncio.timeout(3):
        events = await consume(stream, rec, stop_after=1)
    assert [e.type for e in events] == ["StasisStart"]
    assert fake.pings >= 1
    assert rec.timeline == ["connect", "connect", "StasisStart"]


async def test_failed_on_connect_drops_connection_and_retries(
    fake: FakeEvents, session: aiohttp.ClientSession
) -> None:
    fake.scripts = [[frame("stasis_start"), HOLD], [frame("stasis_start"), HOLD]]
    rec = Recorder()
    calls = 0

    async def flaky_resync() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionResetError("REST not ready yet")
        await rec.on_connect()

    stream = make_stream(fake, session, rec, on_connect=flaky_resync)
    with structlog.testing.capture_logs() as logs:
        async with asyncio.timeout(3):
            events = await consume(stream, rec, stop_after=1)
    # The first connection's StasisStart came on top of a failed resync and was dropped with it;
    # the second connection delivers it again after a good resync.
    assert rec.timeline == ["connect", "StasisStart"]
    assert len(events) == 1 and fake.connections == 2
    assert any(e["event"] == "ari.stream.on_connect_failed" for e in logs)


async def test_wrong_password_is_logged_without_the_password(
    fake: FakeEvents, session: aiohttp.ClientSession
) -> None:
    rec = Recorder()
    stream = EventStream(
        session, fake.base_url, "stadtruf", USER, "wrong-" + PASSWORD, delay=rec.delay
    )
    with structlog.testing.capture_logs() as logs:
        async with asyncio.timeout(2):
            task = asyncio.create_task(consume(stream, rec, stop_after=1))
            # It keeps trying: ari.conf may get fixed and reloaded.
            await eventually(lambda: fake.handshakes >= 3)
            await stream.close()
            await task
    rejected = [e for e in logs if e["event"] == "ari.stream.auth_rejected"]
    assert rejected and rejected[0]["status"] == 401 and rejected[0]["username"] == USER
    assert "ari.conf" in rejected[0]["hint"]
    assert PASSWORD not in repr(logs)


async def test_connection_refused_keeps_retrying(session: aiohttp.ClientSession) -> None:
    with socket.socket() as s:  # a loopback port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rec = Recorder()
    stream = EventStream(
        session, f"http://127.0.0.1:{port}/ari", "stadtruf", USER, PASSWORD, delay=rec.delay
    )
    with structlog.testing.capture_logs() as logs:
        async with asyncio.timeout(2):
            task = asyncio.create_task(consume(stream, rec, stop_after=1))
            await eventually(lambda: len(rec.attempts) >= 3)
            await stream.close()
            assert await task == []
    assert rec.attempts[:3] == [0, 1, 2]
    assert any(e["event"] == "ari.stream.connect_failed" for e in logs)


async def test_iterating_twice_is_refused(fake: FakeEvents, session: aiohttp.ClientSession) -> None:
    stream = make_stream(fake, session, Recorder())
    iterator = aiter(stream)
    with pytest.raises(RuntimeError, match="only once"):
        aiter(stream)
    await stream.close()
    async with asyncio.timeout(1):
        assert [e async for e in iterator] == []


def test_url_and_repr_carry_no_secret() -> None:
    session: Any = object()  # never used: nothing connects in this test
    stream = EventStream(
        session, "https://pbx.example:8089/ari/", "stadtruf", USER, PASSWORD, subscribe_all=True
    )
    assert stream.url == "wss://pbx.example:8089/ari/events?app=stadtruf&subscribeAll=true"
    assert PASSWORD not in repr(stream) and PASSWORD not in stream.url


@pytest.mark.parametrize("app", ["", "a,b"])
def test_app_must_be_one_name(app: str) -> None:
    with pytest.raises(ValueError, match="Stasis application"):
        EventStream(object(), "http://127.0.0.1:8088/ari", app, USER, PASSWORD)  # type: ignore[arg-type]


def test_next_delay_schedule() -> None:
    low = [next_delay(n, lambda: 0.0) for n in range(8)]
    high = [next_delay(n, lambda: 0.999999) for n in range(8)]
    assert low == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
    assert high == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0], rel=1e-5)
    with pytest.raises(ValueError):
        next_delay(-1)


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0.0, max_value=0.999999))
def test_next_delay_is_bounded(attempt: int, r: float) -> None:
    delay = next_delay(attempt, lambda: r)
    ceiling = min(10.0, 0.2 * 2**attempt) if attempt < 64 else 10.0
    assert ceiling / 2 <= delay <= ceiling <= 10.0


def test_fixture_frames_are_json() -> None:
    # The stream tests replay these files verbatim; keep them loadable.
    for path in FIXTURES.glob("*.json"):
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
