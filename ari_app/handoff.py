"""The hand-off point from the menu to the queue: the caller waits for an agent on a topic.

Until the queue engine exists (next issue), a call handed off waits in the topic's holding
bridge (`stadtruf-queue-<topic>`) with music on hold until it hangs up. The bridge is made for
the first caller of a topic and destroyed when the last one leaves, so none is left behind.
Tests observe the hand-off as the channel entering that bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import structlog

from ari_app.application import CallContext
from ari_app.errors import AriError

log = structlog.get_logger(__name__)

_HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})


def queue_bridge_id(topic: str) -> str:
    return f"stadtruf-queue-{topic}"


class QueueHandoff(Protocol):
    async def wait_for_agent(self, call: CallContext, topic: str, language: str) -> None: ...


class WaitingRoom:
    """A holding bridge per topic with music on hold; one instance per app."""

    def __init__(self) -> None:
        self._members: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def wait_for_agent(self, call: CallContext, topic: str, language: str) -> None:
        bridge_id = queue_bridge_id(topic)
        async with self._lock:
            if self._members.get(topic, 0) == 0:
                await call.rest.create_bridge("holding", bridge_id=bridge_id, name=bridge_id)
            self._members[topic] = self._members.get(topic, 0) + 1
        try:
            await call.rest.add_channel(bridge_id, call.channel_id, role="participant")
            await call.rest.start_moh(call.channel_id)
            log.info("call.queued", topic=topic, bridge=bridge_id)
            while True:
                event = await call.next_event()
                if getattr(event, "type", "") in _HANGUP_EVENTS:
                    return
        finally:
            # The app's stop cancels call tasks, possibly while this one already waits for
            # the lock here: the bridge must still go, or it outlives the app.
            leaving = asyncio.ensure_future(self._leave(call, topic, bridge_id))
            try:
                await asyncio.shield(leaving)
            except asyncio.CancelledError:
                await leaving
                raise

    async def _leave(self, call: CallContext, topic: str, bridge_id: str) -> None:
        async with self._lock:
            self._members[topic] -= 1
            if self._members[topic] == 0:
                with contextlib.suppress(AriError):  # AriNotFound: already gone
                    await call.rest.destroy_bridge(bridge_id)
