"""Helpers of the integration tests (the observer itself is `stadtruf.observer`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ari_app.events import Event
from ari_app.port import Ari
from stadtruf.observer import Observer, on_channel

__all__ = ["Observer", "agents_online", "eventually", "on_channel", "playback", "wait_until_idle"]


def playback(
    channel: str, media_uri: str, event_type: str = "PlaybackStarted"
) -> Callable[[Event], bool]:
    """Matches the start (or `event_type`) of playing `media_uri` on `channel`."""
    return lambda e: (
        on_channel(channel, event_type)(e) and e.raw["playback"]["media_uri"] == media_uri
    )


async def wait_until_idle(rest: Ari, *, timeout: float = 8.0) -> tuple[list[Any], list[Any]]:
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


async def agents_online(observer: Observer, *agents: str, timeout: float = 20.0) -> None:
    """Wait until the ServiceCenter sees every one of `agents`' phones online (qualified)."""
    async with asyncio.timeout(timeout):
        while True:
            states = [(await observer.rest.get_endpoint("PJSIP", a))["state"] for a in agents]
            if all(state == "online" for state in states):
                return
            await asyncio.sleep(0.2)
