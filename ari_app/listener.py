"""An ARI event stream read in a background task, for helpers that watch or drive calls.

`start()` returns once the WebSocket is connected (so nothing that follows can be missed);
`close()` ends the stream and waits for the reader. Subclasses handle each event.
"""

from __future__ import annotations

import asyncio

import aiohttp

from ari_app.events import Event
from ari_app.port import Ari
from ari_app.rest import AriRest
from ari_app.stream import EventStream


class Listener:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        app: str,
        user: str,
        password: str,
        *,
        subscribe_all: bool = False,
    ) -> None:
        self.rest: Ari = AriRest(session, url, user, password)
        self._connected = asyncio.Event()
        self._stream = EventStream(
            session,
            url,
            app,
            user,
            password,
            subscribe_all=subscribe_all,
            on_connect=self._on_connect,
        )
        self._task: asyncio.Task[None] | None = None

    async def _on_connect(self) -> None:
        self._connected.set()

    @property
    def connected(self) -> bool:
        """The event stream is up (it reconnects by itself, e.g. after an Asterisk restart)."""
        return self._stream.connected

    async def start(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        self._task = asyncio.create_task(self._read())
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def close(self) -> None:
        await self._stream.close()
        if self._task is not None:
            await self._task

    async def _read(self) -> None:
        async for event in self._stream:
            await self.handle(event)

    async def handle(self, event: Event) -> None:
        raise NotImplementedError
