"""Watching the ServiceCenter's Asterisk from the outside, for assertions on what the app did.

`Observer` connects to the ServiceCenter's ARI as a separate app with subscribeAll, so it sees
every channel's events (playbacks, DTMF, hangups) without being part of the call flow: the
tests assert on what Asterisk actually did, not on what the app believes it did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from ari_app.events import Event
from ari_app.rest import AriRest
from ari_app.stream import EventStream

Predicate = Callable[[Event], bool]


class Observer:
    def __init__(self, session: aiohttp.ClientSession, url: str, user: str, password: str):
        self.rest = AriRest(session, url, user, password)
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._connected = asyncio.Event()
        self._stream = EventStream(
            session,
            url,
            "observer",
            user,
            password,
            subscribe_all=True,
            on_connect=self._on_connect,
        )
        self._task: asyncio.Task[None] | None = None

    async def _on_connect(self) -> None:
        self._connected.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._read())
        async with asyncio.timeout(10):
            await self._connected.wait()

    async def close(self) -> None:
        await self._stream.close()
        if self._task is not None:
            await self._task

    async def _read(self) -> None:
        async for event in self._stream:
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def mark(self) -> int:
        """Position to search from, so one test does not match another test's events."""
        return len(self.events)

    async def wait_for(
        self, predicate: Predicate, *, since: int = 0, timeout: float = 10.0
    ) -> Event:
        async with asyncio.timeout(timeout), self._changed:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                await self._changed.wait()

    def matching(self, predicate: Predicate, *, since: int = 0) -> list[Event]:
        return [e for e in self.events[since:] if predicate(e)]

    async def channel_of_caller(self, caller_number: str, *, since: int) -> str:
        """The ServiceCenter-side channel id of the call from `caller_number`."""
        event = await self.wait_for(
            lambda e: (
                e.type == "ChannelCreated" and e.raw["channel"]["caller"]["number"] == caller_number
            ),
            since=since,
        )
        assert event.channel_id is not None
        return event.channel_id


def on_channel(channel_id: str, event_type: str) -> Predicate:
    return lambda e: e.type == event_type and e.channel_id == channel_id


async def wait_until_idle(rest: AriRest, *, timeout: float = 8.0) -> tuple[list, list]:
    """Poll until Asterisk has no channel and no bridge; return what is left at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        channels = await rest.list_channels()
        bridges = await rest.list_bridges()
        if (not channels and not bridges) or loop.time() > deadline:
            return channels, bridges
        await asyncio.sleep(0.1)


async def eventually(condition: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Wait until `condition()` holds (the app sees events a moment after the observer)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
