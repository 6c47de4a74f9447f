"""The waiting caller: in the topic's holding bridge with music, announcements, overflow.

The caller's own task (`Line.wait_for_agent`) joins the topic's holding bridge, reports
`CallerJoined`, then follows what comes: announcements from the engine, "1" for a callback
where the queue offers one, the overflow, and the agent's answer (`Connected`). It reports
the call's life (`Queued` … `Ended`) and ends with the call.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from ari_app.application import CallContext, Resynced
from ari_app.call import TRANSFER_CONTEXT, CallerGone
from ari_app.events import Event
from ari_app.handoff import HANGUP_EVENTS, QueueRequest
from ari_app.queue.conversation import Conversation
from ari_app.queue.shared import (
    Announce,
    Connected,
    OverflowNow,
    Shared,
    hangup_cause,
    quietly,
)
from stadtruf.config.agents import (
    OverflowAction,
    OverflowAnnounce,
    OverflowCallback,
    OverflowQueue,
    OverflowTransfer,
    OverflowVoicemail,
)
from stadtruf.core import queue as q
from stadtruf.core.lifecycle import EndedBy, Overflowed, Transferred
from stadtruf.core.prompts import media_uri
from stadtruf.core.queue_caller import (
    CALLBACK_DIGIT,
    announcement,
    offers_callback,
    transfer_destination,
)
from stadtruf.core.snapshot import SNAPSHOT_VARIABLE, Snapshot, dumps

if TYPE_CHECKING:
    from ari_app.queue.line import Line

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class WaitingCaller:
    """A caller handed to the queue, from `wait_for_agent` until the call is over."""

    call: CallContext
    request: QueueRequest
    arrived: float  # engine clock
    queued_at: datetime
    topic: str  # the queue they are in now (changes on overflow to another queue)
    line: Line
    in_engine: bool = True
    bridge_topic: str | None = None  # the holding bridge they are in
    playback: str | None = None  # the announcement playing to them
    announced: bool = False
    conversation: Conversation | None = None
    ended_by: EndedBy | None = None
    cause: int | None = None

    @property
    def id(self) -> str:
        return self.call.channel_id

    @property
    def shared(self) -> Shared:
        return self.line.shared

    def offers_callback(self) -> bool:
        return offers_callback(self.shared.config.rules(self.topic).overflow)

    def ends(self, by: EndedBy, cause: int | None = None) -> None:
        """How the call ends for the queue; the first word counts."""
        if self.ended_by is None:
            self.ended_by, self.cause = by, cause

    async def hang_up(self) -> None:
        self.ends("system")
        await quietly(self.shared.rest.hangup(self.id))

    # --- holding -------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        request = self.request
        return Snapshot(
            "queue",
            client=request.client_id,
            language=request.language,
            topic=self.topic,
            queued_at=self.queued_at.timestamp(),
        )

    async def save(self, snap: Snapshot | None = None) -> None:
        """Keep the call's place in line on the channel, for a process after this one."""
        await quietly(
            self.shared.rest.set_var(self.id, SNAPSHOT_VARIABLE, dumps(snap or self.snapshot()))
        )

    async def move(self, topic: str) -> None:
        rest = self.shared.rest
        await self.leave_holding()
        await self.line.bridges.join(rest, self.id, topic)
        self.bridge_topic = topic
        await self.save()
        if self.playback is None:
            await quietly(rest.start_moh(self.id))

    async def leave_holding(self) -> None:
        rest = self.shared.rest
        if self.playback is not None:
            await quietly(rest.stop_playback(self.playback))
            self.playback = None
        await quietly(rest.stop_moh(self.id))
        if self.bridge_topic is not None:
            topic, self.bridge_topic = self.bridge_topic, None
            await self.line.bridges.leave(rest, self.id, topic)

    # --- playing -------------------------------------------------------------------------

    async def play(self, media: Sequence[str]) -> None:
        """Play over the music (stopped for it); `PlaybackFinished` brings the music back."""
        rest = self.shared.rest
        if self.playback is not None:
            await quietly(rest.stop_playback(self.playback))
        await quietly(rest.stop_moh(self.id))
        self.playback = f"{self.id}-queue-{uuid.uuid4().hex[:8]}"
        await rest.play(self.id, list(media), playback_id=self.playback, lang=self.request.language)

    async def play_to_end(
        self, media: Sequence[str], *, digits: str = "", wait_after: float = 0.0
    ) -> str | None:
        """Play and wait for the end (or one of `digits`, also up to `wait_after` s after)."""
        rest, clock = self.shared.rest, self.shared.clock
        playback = f"{self.id}-queue-{uuid.uuid4().hex[:8]}"
        await rest.play(self.id, list(media), playback_id=playback)
        deadline: float | None = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - clock())
            try:
                item = await asyncio.wait_for(self.call.next_event(), timeout)
            except TimeoutError:
                return None
            if not isinstance(item, Event):
                continue
            if item.type in HANGUP_EVENTS:
                self.ends("caller", hangup_cause(item))
                raise CallerGone
            if item.type == "ChannelDtmfReceived" and item.digit and item.digit in digits:
                await quietly(rest.stop_playback(playback))
                return item.digit
            if item.type == "PlaybackFinished" and item.playback_id == playback:
                if wait_after <= 0:
                    return None
                deadline = clock() + wait_after

    async def announce(self, signal: Announce) -> None:
        texts = announcement(
            signal.position,
            signal.expected_wait_s,
            self.request.language,
            first=not self.announced,
            callback=self.offers_callback(),
            caller_number=self.request.caller_number,
        )
        self.announced = True
        log.info("call.announce", position=signal.position, wait=signal.expected_wait_s)
        await self.play([t.media_uri for t in texts])

    # --- overflow ------------------------------------------------------------------------

    async def overflow(self, action: OverflowAction, reason: str) -> bool:
        """Carry out the overflow; True when the call is over for the queue."""
        rest = self.shared.rest
        log.info("call.overflow", action=type(action).__name__, queue=self.topic, reason=reason)
        match action:
            case OverflowQueue(queue=topic):
                self.shared.tell(self.id, Overflowed(reason, "queue", topic))
                await self.move(topic)
                return False
            case OverflowTransfer(transfer=target):
                self.shared.tell(self.id, Overflowed(reason, "transfer", target))
                await self.leave_holding()
                destination = transfer_destination(target)
                if destination.endpoint is not None:
                    await rest.set_var(self.id, "STADTRUF_TRANSFER_ENDPOINT", destination.endpoint)
                await rest.set_var(self.id, "STADTRUF_ROUTE", f"overflow:{target}")
                await rest.continue_in_dialplan(
                    self.id, context=TRANSFER_CONTEXT, extension=destination.extension, priority=1
                )
                self.shared.tell(self.id, Transferred(target, "overflow"))
                self.ends("transfer")
                return True
            case OverflowCallback():
                self.shared.tell(self.id, Overflowed(reason, "callback"))
                return await self.line.desk.take_callback(self, keep_place=False)
            case OverflowAnnounce(announce=prompt):
                self.shared.tell(self.id, Overflowed(reason, "announce"))
                await self.leave_holding()
                await self.play_to_end([media_uri(prompt, self.request.language)])
                await self.hang_up()
                return True
            case OverflowVoicemail():
                self.shared.tell(self.id, Overflowed(reason, "voicemail"))
                await self.line.desk.take_voicemail(self, action)
                return True
        return False  # pragma: no cover - the union is exhausted above

    def leave_line(self) -> None:
        """Out of the engine's line now (e.g. before a callback confirmation plays)."""
        self.shared.report(q.CallerLeft(self.id, now=self.shared.clock(), reason="callback"))
        self.in_engine = False

    # --- the task ------------------------------------------------------------------------

    async def follow(self) -> None:
        rest = self.shared.rest
        while True:
            item = await self.call.next_event()
            if isinstance(item, Event):
                if item.type in HANGUP_EVENTS:
                    conversation = self.conversation
                    if conversation is not None and conversation.ended_by == "agent":
                        self.ends("agent", hangup_cause(item))
                    self.ends("caller", hangup_cause(item))
                    if conversation is not None:
                        await conversation.end("caller")
                    return
                if item.type == "PlaybackFinished" and item.playback_id == self.playback:
                    self.playback = None
                    if self.conversation is None:
                        await quietly(rest.start_moh(self.id))
                elif (
                    item.type == "ChannelDtmfReceived"
                    and item.digit == CALLBACK_DIGIT
                    and self.conversation is None
                    and self.in_engine
                    and self.offers_callback()
                ):
                    if await self.line.desk.take_callback(self, keep_place=True):
                        return
            elif isinstance(item, Announce):
                if self.conversation is None and self.in_engine:
                    await self.announce(item)
            elif isinstance(item, Connected):
                self.conversation = item.conversation
            elif isinstance(item, Resynced) and self.playback is not None:
                # The announcement's end may have been in the gap: music again, now.
                await quietly(rest.stop_playback(self.playback))
                self.playback = None
                if self.conversation is None:
                    await quietly(rest.start_moh(self.id))
            elif isinstance(item, OverflowNow):
                if await self.overflow(item.action, item.reason):
                    return
