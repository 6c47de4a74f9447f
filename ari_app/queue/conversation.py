"""A caller and the agent who answered: whisper, then the mixing bridge, then the end.

`Connect` → whisper to the agent only ("Bottrop — Kfz-Zulassung") while the caller still
hears music, then one mixing bridge for both. Whoever hangs up ends the other leg and the
bridge. An agent who hangs up during the whisper puts the caller back in line, at their old
place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import structlog

from ari_app.application import CONVERSATION_BRIDGE_PREFIX, CallContext
from ari_app.errors import AriError
from ari_app.events import Event
from ari_app.queue.shared import Shared, quietly
from stadtruf.core import queue as q
from stadtruf.core.lifecycle import AgentAnswered
from stadtruf.core.queue_prompts import whisper

if TYPE_CHECKING:
    from ari_app.queue.waiting import WaitingCaller

log = structlog.get_logger(__name__)

CONVERSATION_PREFIX = CONVERSATION_BRIDGE_PREFIX
# proxy_media: media always through Asterisk. With native RTP bridging, after our own audio
# (music on hold, whisper) the far end lost one direction for the whole call in 22 of 35
# test calls (Asterisk peers, see docs/decisions.md #7); through Asterisk 10 of 10 were fine.
CONVERSATION_BRIDGE_TYPE = "mixing,proxy_media"
WHISPER_LIMIT_S = 20.0  # a whisper is two words; never hold the caller longer

Side = Literal["caller", "agent", "error"]


class Conversation:
    def __init__(
        self,
        shared: Shared,
        agent: str,
        leg: CallContext,
        caller: WaitingCaller,
        requeue: Callable[[WaitingCaller], None],
    ) -> None:
        self.shared = shared
        self.agent = agent
        self.leg = leg
        self.caller = caller
        self._requeue = requeue  # the agent left during the whisper
        self.bridge_id = f"{CONVERSATION_PREFIX}{caller.call.channel_id}"
        # Whispering: the caller still waits in the holding bridge, and an agent who leaves
        # now puts them back in line. From the bridge on, the agent leaving ends the call:
        # Asterisk may show both in the bridge (and the agent hang up) before our requests
        # return, so `talking` alone is too late to decide.
        self.whispering = True
        self.talking = False
        self.ended = False
        self.ended_by: Side | None = None
        self._bridge_made = False
        self._whisper = f"{leg.channel_id}-whisper"
        self._whisper_done = asyncio.Event()
        self._replaced = asyncio.Event()
        self._agent_released = False  # CallEnded reported: the agent is free (or in wrap-up)

    @property
    def call_id(self) -> str:
        return self.caller.call.channel_id

    def on_agent_event(self, event: Event) -> None:
        if event.type == "PlaybackFinished" and event.playback_id == self._whisper:
            self._whisper_done.set()

    async def run(self) -> None:
        rest, request = self.shared.rest, self.caller.request
        log.info("queue.connect", agent=self.agent, call=self.call_id)
        try:
            texts = whisper(request.client_name, request.topic_name, self.shared.language)
            await rest.play(
                self.leg.channel_id,
                [t.media_uri for t in texts],
                playback_id=self._whisper,
                lang=self.shared.language,
            )
            async with asyncio.timeout(WHISPER_LIMIT_S):
                await self._whisper_done.wait()
            if self.ended:
                return
            await self._bridge()
        except (AriError, TimeoutError) as exc:
            if not self.ended:
                log.warning("queue.connect_failed", error=str(exc))
                failed = not self.talking
                await self.end("agent" if failed else "error", bridge_failed=failed)
            elif self._bridge_made:
                # A leg left while the bridge was being made: `end` found no bridge yet, and
                # adding the gone leg failed. Nobody else destroys this one.
                await quietly(rest.destroy_bridge(self.bridge_id))

    async def _bridge(self) -> None:
        rest, caller = self.shared.rest, self.caller.call
        self.whispering = False
        await self.caller.leave_holding()
        await rest.create_bridge(
            CONVERSATION_BRIDGE_TYPE, bridge_id=self.bridge_id, name=self.bridge_id
        )
        self._bridge_made = True
        await rest.add_channel(self.bridge_id, caller.channel_id)
        await rest.add_channel(self.bridge_id, self.leg.channel_id)
        self.talking = True
        # From here a restart of the app leaves the two talking (see CallContext).
        caller.hand_back_on_stop = False
        self.leg.hand_back_on_stop = False
        log.info("queue.talking", agent=self.agent, bridge=self.bridge_id)
        self.shared.tell(self.call_id, AgentAnswered(self.agent))
        talking = replace(
            self.caller.snapshot(),
            stage="talking",
            agent=self.agent,
            bridge=self.bridge_id,
            answered_at=self.shared.wall_clock(),
        )
        await self.caller.save(talking)
        if self.ended:  # a leg went while we were bridging
            await self._teardown()

    def replace_agent_leg(self, leg: CallContext) -> None:
        """The agent transferred the caller: `leg` (a Local channel dialling the target) now
        talks to the caller in our bridge. The agent is free; the call goes on."""
        log.info("queue.transferred_by_agent", agent=self.agent, leg=leg.channel_id)
        leg.hand_back_on_stop = False
        self.leg = leg
        self._release_agent()
        self._replaced.set()

    async def wait_replaced(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._replaced.wait()

    def _release_agent(self) -> None:
        if not self._agent_released:
            self._agent_released = True
            self.shared.report(q.CallEnded(self.agent, self.call_id, now=self.shared.clock()))
            if self.shared.wrap_up is not None:  # the agent's wrap-up, for the call's record
                seconds = self.shared.config.rules(self.caller.topic).wrapup
                self.shared.wrap_up(self.call_id, seconds)

    async def end(
        self, side: Side, leg_id: str | None = None, *, bridge_failed: bool = False
    ) -> None:
        """`side` left: end the other leg and the bridge, once.

        The side that left is not hung up: it is gone, or it left Stasis alive (the agent's
        blind transfer sends the caller on through the dialplan). `leg_id`: which agent-side
        leg left; one that was replaced (the transferring agent) ends nothing.
        `bridge_failed`: Asterisk refused the bridge; the caller goes back in line.
        """
        if leg_id is not None and leg_id != self.leg.channel_id:
            return
        if self.ended:
            return
        self.ended = True
        self.ended_by = side
        self._whisper_done.set()
        rest = self.shared.rest
        log.info("queue.conversation_ended", agent=self.agent, call=self.call_id, by=side)
        if side == "agent" and (self.whispering or bridge_failed):
            # The caller never heard the agent: back in line, at their place, with music.
            self._release_agent()
            with contextlib.suppress(AriError):
                await rest.hangup(self.leg.channel_id)
            if self._bridge_made:
                await quietly(rest.destroy_bridge(self.bridge_id))
            if not self.whispering:  # out of the holding bridge already: back in
                with contextlib.suppress(AriError):
                    await self.caller.move(self.caller.topic)
            self._requeue(self.caller)
            return
        self._release_agent()
        await self._teardown()

    async def _teardown(self) -> None:
        rest = self.shared.rest
        legs = {"caller": self.call_id, "agent": self.leg.channel_id}
        for side, channel in legs.items():
            if side != self.ended_by:
                await quietly(rest.hangup(channel))
        if self._bridge_made:
            await quietly(rest.destroy_bridge(self.bridge_id))
