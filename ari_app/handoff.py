"""The hand-off point from the menu to the queue: the caller waits for an agent on a topic.

`QueueRequest` is everything the queue needs to know about the caller (town, topic, how to
announce the call to the agent). Two implementations of `QueueHandoff`: the ARI queue
(`ari_app.queue.CallDistributor`), and `WaitingRoom`, which only holds callers with music when
no agents are configured. Both keep waiting callers in the topic's holding bridge
(`stadtruf-queue-<topic>`), made for the first caller of a topic and destroyed when the last
one leaves, so a supervisor sees who waits and none is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from ari_app.application import CallContext
from ari_app.errors import AriError
from ari_app.port import Ari
from stadtruf.config.agents import DialledKind
from stadtruf.core.lifecycle import Ended, EndedBy, Happened, LifeEvent, Queued
from stadtruf.core.snapshot import SNAPSHOT_VARIABLE, Snapshot, dumps

log = structlog.get_logger(__name__)

HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})


HOLDING_PREFIX = "stadtruf-queue-"


def queue_bridge_id(topic: str) -> str:
    return f"{HOLDING_PREFIX}{topic}"


async def _create_or_find(rest: Ari, bridge_id: str) -> None:
    """Create the holding bridge, or take the one a process before this one left (Asterisk
    keeps it, and refuses a second with its id)."""
    try:
        await rest.create_bridge("holding", bridge_id=bridge_id, name=bridge_id)
    except AriError:
        if not any(b.get("id") == bridge_id for b in await rest.list_bridges()):
            raise
        log.info("queue.bridge_taken_over", bridge=bridge_id)


@dataclass(frozen=True)
class QueueRequest:
    """A caller for a queue, as the menu hands them over."""

    topic: str
    language: str
    client_id: str | None = None  # None: the town stayed unknown (e.g. straight to a queue)
    client_name: str | None = None
    topic_name: str | None = None
    dialled: DialledKind | None = None  # for the queue's `priorities`
    caller_number: str = ""
    caller_id_name: str = ""  # as annotated: "[BOT] Kfz-Zulassung · Max Mustermann"
    sip_headers: Mapping[str, str] = field(default_factory=dict)  # X-Origin-City, X-Topic, …
    # The line is closed: take a voicemail or a callback request instead of waiting.
    closed_action: str | None = None
    # Back in line after a restart: first queued then (seconds since the epoch).
    queued_at: float | None = None


class QueueHandoff(Protocol):
    async def wait_for_agent(self, call: CallContext, request: QueueRequest) -> None:
        """Return when the call is over for the app (hung up, transferred, or finished)."""
        ...


class HoldingBridges:
    """One holding bridge per topic, shared by its waiting callers (reference counted)."""

    def __init__(self) -> None:
        self._members: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def join(self, rest: Ari, channel_id: str, topic: str, *, again: bool = False) -> None:
        """`again`: a caller adopted after a restart, maybe still in the bridge from then."""
        bridge_id = queue_bridge_id(topic)
        async with self._lock:
            if self._members.get(topic, 0) == 0:
                await _create_or_find(rest, bridge_id)
            self._members[topic] = self._members.get(topic, 0) + 1
        try:
            if again:  # out and in again: the bridge's own view of who waits is ours then
                with contextlib.suppress(AriError):
                    await rest.remove_channel(bridge_id, channel_id)
            await rest.add_channel(bridge_id, channel_id, role="participant")
        except BaseException:
            await self.leave(rest, channel_id, topic)
            raise

    async def leave(self, rest: Ari, channel_id: str, topic: str) -> None:
        """Take the channel out (if still there) and drop the bridge with its last member.

        Safe against cancellation: the bookkeeping and the bridge's end are shielded, or an
        app stopping mid-call would leave the bridge behind.
        """
        leaving = asyncio.ensure_future(self._leave(rest, channel_id, topic))
        try:
            await asyncio.shield(leaving)
        except asyncio.CancelledError:
            await leaving
            raise

    async def sweep(self, rest: Ari) -> None:
        """Holding bridges a process before this one left with nobody in them (their callers
        hung up while no app was there): nobody else would ever destroy them."""
        async with self._lock:
            for bridge in await rest.list_bridges():
                bridge_id = str(bridge.get("id", ""))
                topic = bridge_id.removeprefix(HOLDING_PREFIX)
                if (
                    bridge_id.startswith(HOLDING_PREFIX)
                    and not bridge.get("channels")
                    and not self._members.get(topic)
                ):
                    with contextlib.suppress(AriError):
                        await rest.destroy_bridge(bridge_id)
                    log.info("queue.empty_bridge_swept", bridge=bridge_id)

    async def _leave(self, rest: Ari, channel_id: str, topic: str) -> None:
        bridge_id = queue_bridge_id(topic)
        with contextlib.suppress(AriError):  # gone already: the caller hung up
            await rest.remove_channel(bridge_id, channel_id)
        async with self._lock:
            self._members[topic] -= 1
            if self._members[topic] == 0:
                with contextlib.suppress(AriError):
                    await rest.destroy_bridge(bridge_id)


class WaitingRoom:
    """No agents configured: callers wait with music on hold until they hang up.

    Reports `Queued` and the call's one `Ended` to `sink`, as the queue adapter does. With no
    callback list, a closed line's voicemail/callback ends the call after the announcement.
    """

    def __init__(
        self,
        sink: Callable[[Happened], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bridges = HoldingBridges()
        self._sink = sink
        self._clock = clock

    def _tell(self, call: CallContext, event: LifeEvent) -> None:
        if self._sink is not None:
            self._sink(Happened(call.channel_id, self._clock(), event))

    async def wait_for_agent(self, call: CallContext, request: QueueRequest) -> None:
        joined = False
        ended: EndedBy = "system"
        try:
            if request.closed_action is not None:
                log.warning("call.closed_no_callback_list", action=request.closed_action)
                await call.rest.hangup(call.channel_id)
                return
            again = request.queued_at is not None
            await self._bridges.join(call.rest, call.channel_id, request.topic, again=again)
            joined = True
            snap = Snapshot(
                "queue",
                client=request.client_id,
                language=request.language,
                topic=request.topic,
                queued_at=request.queued_at if again else self._clock(),
            )
            with contextlib.suppress(AriError):  # for a process after this one
                await call.rest.set_var(call.channel_id, SNAPSHOT_VARIABLE, dumps(snap))
            await call.rest.start_moh(call.channel_id)
            self._tell(call, Queued(request.topic))
            log.info("call.queued", topic=request.topic, bridge=queue_bridge_id(request.topic))
            while True:
                event = await call.next_event()
                if getattr(event, "type", "") in HANGUP_EVENTS:
                    ended = "caller"
                    return
        except AriError:
            ended = "caller"
            raise
        finally:
            if joined:
                await self._bridges.leave(call.rest, call.channel_id, request.topic)
            self._tell(call, Ended(ended))
