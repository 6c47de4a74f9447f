"""A fake of the ARI event WebSocket, and a `Connect` that hands the app a `FakeAri` with it.

    connection = FakeConnection()
    app = StasisApplication(settings, runner, connect=connection)
    task = asyncio.create_task(app.run())
    await app.ready.wait()                      # the first resync ran
    connection.stream.push(stasis_start("c1"))
    await connection.stream.delivered()         # the app dispatched everything pushed so far

Like `EventStream`, the fake runs `on_connect` before the first event and again on
`reconnect()`, and ends its iteration after `close()`. No sleeps: `delivered()` waits until the
app has taken every pushed event (dispatch is synchronous, so the app has acted on them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from ari_app.events import Event, parse_event
from ari_app.port import Ari
from ari_app.settings import AriSettings
from ari_app.stream import OnConnect
from tests.support.fake_ari import FakeAri

_CLOSE = object()
_RECONNECT = object()


class FakeEventStream:
    def __init__(self, on_connect: OnConnect) -> None:
        self._on_connect = on_connect
        self._items: asyncio.Queue[object] = asyncio.Queue()
        self.connects = 0

    def push(self, event: Event | Mapping[str, Any]) -> None:
        """Send one event, as Asterisk would (a raw ARI event dict is parsed first)."""
        self._items.put_nowait(event if isinstance(event, Event) else parse_event(event))

    def reconnect(self) -> None:
        """The WebSocket dropped and came back: the app's resync runs again, in order."""
        self._items.put_nowait(_RECONNECT)

    async def delivered(self, timeout: float = 2.0) -> None:
        """Wait until the app has taken everything pushed so far."""
        async with asyncio.timeout(timeout):
            await self._items.join()

    async def close(self) -> None:
        self._items.put_nowait(_CLOSE)

    async def __aiter__(self) -> AsyncIterator[Event]:
        await self._connect()
        while True:
            item = await self._items.get()
            if item is _CLOSE:
                self._items.task_done()
                return
            if item is _RECONNECT:
                await self._connect()
                self._items.task_done()
                continue
            assert isinstance(item, Event)
            yield item
            # Resumed: the app has dispatched the event and asks for the next one.
            self._items.task_done()

    async def _connect(self) -> None:
        self.connects += 1
        await self._on_connect()


class FakeConnection:
    """Stands in for `ari_app.application.connect_ari`: the fake REST client and event stream."""

    def __init__(self, ari: FakeAri | None = None) -> None:
        self.ari = ari if ari is not None else FakeAri()
        self._stream: FakeEventStream | None = None

    @property
    def stream(self) -> FakeEventStream:
        assert self._stream is not None, "the app has not connected yet"
        return self._stream

    def __call__(
        self, session: aiohttp.ClientSession, settings: AriSettings, on_connect: OnConnect
    ) -> tuple[Ari, FakeEventStream]:
        self._stream = FakeEventStream(on_connect)
        self.ari.session = session  # closed by the app: requests refused, as AriRest does
        return self.ari, self._stream


def channel(
    channel_id: str,
    *,
    exten: str = "115",
    caller: str = "02041123456",
    app_data: str | None = "stadtruf",
) -> dict[str, Any]:
    """An ARI Channel object as Asterisk sends it for a call in Stasis."""
    dialplan: dict[str, Any] = {"context": "from-carrier", "exten": exten, "priority": 1}
    if app_data is not None:
        dialplan |= {"app_name": "Stasis", "app_data": app_data}
    return {
        "id": channel_id,
        "name": f"PJSIP/carrier-{channel_id}",
        "state": "Ring",
        "caller": {"name": "", "number": caller},
        "dialplan": dialplan,
    }


def stasis_start(
    channel_id: str, *args: str, replaces: str | None = None, **fields: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "StasisStart",
        "application": "stadtruf",
        "args": list(args),
        "channel": channel(channel_id, **fields),
    }
    if replaces is not None:
        event["replace_channel"] = channel(replaces)
    return event


def channel_event(kind: str, channel_id: str, **extra: Any) -> dict[str, Any]:
    """`StasisEnd`, `ChannelDestroyed`, `ChannelDtmfReceived` (digit=…) … for a channel."""
    return {"type": kind, "application": "stadtruf", "channel": channel(channel_id), **extra}


__all__ = ["FakeConnection", "FakeEventStream", "channel", "channel_event", "stasis_start"]
