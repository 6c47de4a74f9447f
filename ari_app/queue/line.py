"""Everyone waiting: the callers handed to the queue, their holding bridges, their tasks.

`wait_for_agent` is the hand-off from the menu (`ari_app.handoff.QueueHandoff`): the caller's
task runs here until the call is over for the app, and reports the call's life from `Queued`
to exactly one `Ended`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from ari_app.application import CallContext
from ari_app.call import CallerGone
from ari_app.errors import AriNotFound
from ari_app.handoff import HoldingBridges, QueueRequest
from ari_app.queue.callbacks import CallbackDesk
from ari_app.queue.conversation import Conversation
from ari_app.queue.shared import Shared
from ari_app.queue.waiting import WaitingCaller
from stadtruf.config.agents import OverflowVoicemail
from stadtruf.core import queue as q
from stadtruf.core.lifecycle import Ended, Queued

log = structlog.get_logger(__name__)


class Line:
    def __init__(self, shared: Shared, desk: CallbackDesk) -> None:
        self.shared = shared
        self.desk = desk
        self.bridges = HoldingBridges()
        self._waiting: dict[str, WaitingCaller] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def get(self, call: str) -> WaitingCaller | None:
        return self._waiting.get(call)

    def conversations(self) -> list[Conversation]:
        return [w.conversation for w in self._waiting.values() if w.conversation is not None]

    def priority(self, request: QueueRequest, topic: str) -> int:
        return self.shared.config.priority_for(topic, request.client_id or "", request.dialled)

    def joined(
        self, caller: WaitingCaller, now: float, *, arrived: float | None = None
    ) -> q.CallerJoined:
        request = caller.request
        return q.CallerJoined(
            caller.id,
            caller.topic,
            request.client_id or "",
            now=now,
            priority=self.priority(request, caller.topic),
            language=request.language,
            arrived=arrived,
        )

    def requeue(self, caller: WaitingCaller) -> None:
        """The agent left during the whisper: the caller goes back in line at their place."""
        if self._waiting.get(caller.id) is not caller:
            return
        caller.conversation = None
        caller.in_engine = True
        self.shared.report(self.joined(caller, self.shared.clock(), arrived=caller.arrived))

    async def wait_for_agent(self, call: CallContext, request: QueueRequest) -> None:
        """The caller's task from the hand-off until the call is over for the app."""
        shared = self.shared
        again = request.queued_at is not None  # back after a restart: the place is kept
        # The place in line is `arrived` on the engine's clock; `queued_at`, the same moment
        # on the wall clock, is what a restart has to go by.
        arrived = shared.clock()
        queued_at = datetime.fromtimestamp(shared.wall_time(arrived), UTC)
        if request.queued_at is not None:
            arrived = shared.engine_time(request.queued_at)
            queued_at = datetime.fromtimestamp(request.queued_at, UTC)
        caller = WaitingCaller(call, request, arrived, queued_at, request.topic, line=self)
        self._waiting[caller.id] = caller
        structlog.contextvars.bind_contextvars(topic=request.topic)
        try:
            # Before the bridge: from there on the caller's hang-up must reach `follow` soon.
            await caller.save()
            await self.bridges.join(shared.rest, caller.id, request.topic, again=again)
            caller.bridge_topic = request.topic
            # Queued once in the holding bridge: a caller who hangs up before the music
            # starts has waited in the queue all the same.
            # With the arrival given: a caller back after a restart keeps their place.
            joined = self.joined(caller, shared.clock(), arrived=caller.arrived)
            shared.report(joined)
            if not again:  # the record has it, and the live figures counted it
                shared.tell(caller.id, Queued(request.topic, joined.priority))
            log.info("call.queued", priority=joined.priority, again=again)
            await shared.rest.start_moh(caller.id)
            await caller.follow()
        except (CallerGone, AriNotFound):
            caller.ends("caller")
            raise
        finally:
            self._waiting.pop(caller.id, None)
            # The end first: what the engine does about it (a ring cancelled: `RingEnded`)
            # comes after it, so a caller who hangs up while a phone rings is recorded so.
            shared.tell(caller.id, Ended(caller.ended_by or "system", caller.cause))
            if caller.in_engine:
                shared.report(q.CallerLeft(caller.id, now=shared.clock()))
            if caller.bridge_topic is not None:
                await self.bridges.leave(shared.rest, caller.id, caller.bridge_topic)

    async def take_message(self, call: CallContext, request: QueueRequest) -> None:
        """The line is closed: a voicemail or a callback request, through the same desk as
        the queue's overflow, without waiting in line. Reports the call's `Ended`."""
        shared = self.shared
        caller = WaitingCaller(
            call, request, shared.clock(), shared.now(), request.topic, line=self, in_engine=False
        )
        try:
            if request.closed_action == "voicemail":
                await self.desk.take_voicemail(caller, OverflowVoicemail(voicemail=True))
            else:
                await self.desk.take_callback(caller, keep_place=False)
        except (CallerGone, AriNotFound):
            caller.ends("caller")
            raise
        finally:
            shared.tell(caller.id, Ended(caller.ended_by or "system", caller.cause))
