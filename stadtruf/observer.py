"""Watching the ServiceCenter's Asterisk from the outside: what did it actually do?

`Observer` connects to the ServiceCenter's ARI as a separate app with subscribeAll, so it sees
every channel's events (playbacks, DTMF, variables, bridges, hangups) without taking part in
the call flow. The integration tests assert on it, and `stadtruf call` reports from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from ari_app.events import Event
from ari_app.listener import Listener

Predicate = Callable[[Event], bool]


class Observer(Listener):
    def __init__(self, session: aiohttp.ClientSession, url: str, user: str, password: str):
        super().__init__(session, url, "observer", user, password, subscribe_all=True)
        self.events: list[Event] = []
        self._changed = asyncio.Condition()

    async def handle(self, event: Event) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        """Position to search from, so one test does not match another test's events."""
        return len(self.events)

    async def wait_for(
        self,
        predicate: Predicate,
        *,
        since: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109 - the deadline is part of the question
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
