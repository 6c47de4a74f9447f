"""The queue for the whole service center: one engine state, one worker task, agent controls.

Everything that happens on Asterisk is turned into an engine event (`stadtruf.core.queue`)
and reported to one worker task, which steps the engine and carries out its effects in
order, through the parts: `Rings` (ring, cancel), `AgentLegs` (connect), the waiting callers
(`Line`: announce, overflow), and the timer. Agents are logged in, paused and made ready
through `login`/`pause`/… (the agent state API's `QueueControl`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog

from ari_app.application import ADOPTED_CONVERSATION, REPLACES, CallContext, StasisApplication
from ari_app.call import TRANSFER_CONTEXT
from ari_app.errors import AriNotFound
from ari_app.events import Event
from ari_app.handoff import QueueRequest
from ari_app.port import Ari
from ari_app.queue.callbacks import CallbackDesk
from ari_app.queue.conversation import CONVERSATION_PREFIX
from ari_app.queue.endpoints import Endpoints
from ari_app.queue.legs import AGENT_TRANSFER, AgentLegs
from ari_app.queue.line import Line
from ari_app.queue.mirror import AgentMirror
from ari_app.queue.rings import AGENT_LEG, Rings, RingTarget
from ari_app.queue.shared import (
    Announce,
    Finished,
    OverflowNow,
    Shared,
    Sink,
    log_happened,
    quietly,
)
from stadtruf.config.agents import AgentsConfig, OverflowQueue
from stadtruf.core import queue as q
from stadtruf.core.lifecycle import Transferred
from stadtruf.core.queue_rings import is_ring
from stadtruf.store.agent_state import AgentStateFile, SavedAgent, restore_events, saved_view
from stadtruf.store.callbacks import CallbackStore

log = structlog.get_logger(__name__)

FINISHED_KEPT = 1000  # finished calls kept in memory for the wallboard's service level


class CallDistributor:
    def __init__(
        self,
        agents: AgentsConfig,
        *,
        app_name: str,
        language: str = "de",
        callbacks: CallbackStore | None = None,
        logged_in: Iterable[str] = (),
        agent_state: AgentStateFile | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sink: Sink = log_happened,
        wrap_up: Callable[[str, float], None] | None = None,
    ) -> None:
        """`language` is the agents' (whisper); `logged_in` agents start logged in, as do
        the agents `agent_state` saw logged in (and paused) when the app last ran. `sink`
        gets each event of a queued call's life (`stadtruf.core.lifecycle`)."""
        self.shared = Shared(
            agents,
            app_name=app_name,
            language=language,
            clock=clock,
            wall_clock=wall_clock,
            sink=sink,
            wrap_up=wrap_up,
        )
        self.agent_state = agent_state
        self.callbacks = callbacks
        self.state = q.new_queue(agents, clock())
        self.finished: deque[Finished] = deque(maxlen=FINISHED_KEPT)
        self.rings = Rings(self.shared)
        self.endpoints = Endpoints(self.shared)
        self.line = Line(self.shared, CallbackDesk(self.shared, callbacks))
        self.legs = AgentLegs(self.shared, self.rings, self.endpoints, self.line)
        self.mirror = AgentMirror()  # the agents' state for the fail-open dialplan
        self._initial_logins = tuple(logged_in)
        self._saved: dict[str, SavedAgent] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        if agent_state is not None:
            # Read now (a small file, once): these events must come before any caller's.
            saved = agent_state.load()
            for event in restore_events(saved, agents, clock()):
                self.report(event)
            log.info("queue.agents_restored", path=str(agent_state.path), agents=len(saved))

    @property
    def config(self) -> AgentsConfig:
        return self.shared.config

    @property
    def clock(self) -> Callable[[], float]:
        """The clock of the engine's `now` (for views that show waiting and idle times)."""
        return self.shared.clock

    @property
    def rest(self) -> Ari:
        return self.shared.rest

    # --- wiring into the Stasis app --------------------------------------------------------

    def routes(self) -> dict[str, Callable[[CallContext], Any]]:
        return {
            AGENT_LEG: self._once_connected(self.legs.agent_leg),
            ADOPTED_CONVERSATION: self._once_connected(self.legs.adopted_conversation),
            REPLACES: self._once_connected(self.legs.replacement),
            AGENT_TRANSFER: self._once_connected(self.legs.transfer_dial),
        }

    def _once_connected(
        self, runner: Callable[[CallContext], Awaitable[None]]
    ) -> Callable[[CallContext], Awaitable[None]]:
        """An adopted leg's task may start before the queue has its connection."""

        async def run(leg: CallContext) -> None:
            await self.shared.wait_connected()
            await runner(leg)

        return run

    def attach(self, app: StasisApplication) -> None:
        app.on_event.append(self.on_event)
        app.on_connect.append(lambda: self.connected(app.rest))
        app.on_stop.append(self.close)

    async def connected(self, rest: Ari) -> None:
        """After each (re)connect: start the worker once, read the agents' phones."""
        self.shared.connect(rest)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="queue-worker")
            for agent in self._initial_logins:
                self.report(q.AgentLoggedIn(agent, now=self.clock()))
        await self.endpoints.watch([a.id for a in self.config.agents])
        await self._clear_orphans(rest)
        self.mirror.forget()
        await self.mirror.update(rest, self.state)

    async def _clear_orphans(self, rest: Ari) -> None:
        """What a process before this one left ringing or empty: its rings (an answer would
        reach an agent with no caller), conversation and holding bridges nobody is in."""
        for channel in await rest.list_channels():
            channel_id = str(channel.get("id", ""))
            in_stasis = channel.get("dialplan", {}).get("app_name") == "Stasis"
            if is_ring(channel_id) and not in_stasis and self.rings.get(channel_id) is None:
                log.info("queue.orphan_ring_hung_up", channel=channel_id)
                await quietly(rest.hangup(channel_id))
        # A conversation whose legs both went while no app was there (or as the last one
        # stopped): no member is left to be adopted and end it.
        ours = {c.bridge_id for c in self.line.conversations()}
        for bridge in await rest.list_bridges():
            bridge_id = str(bridge.get("id", ""))
            if (
                bridge_id.startswith(CONVERSATION_PREFIX)
                and not bridge.get("channels")
                and bridge_id not in ours
            ):
                log.info("queue.empty_bridge_swept", bridge=bridge_id)
                await quietly(rest.destroy_bridge(bridge_id))
        await self.line.bridges.sweep(rest)

    def on_event(self, event: Event) -> None:
        """Events no call task takes: rings ending unanswered, endpoint state."""
        if event.type == "ChannelDestroyed":
            self.rings.on_destroyed(event)
        elif event.type == "EndpointStateChange":
            self.endpoints.on_state_change(event)

    async def reconfigure(self, agents: AgentsConfig) -> None:
        """The agents file was reloaded: new settings, skills and agents from now on."""
        added = [a.id for a in agents.agents if a.id not in self.config.by_id]
        removed = [a.id for a in self.config.agents if a.id not in agents.by_id]
        await self.shared.settle(q.ConfigChanged(agents, now=self.clock()))
        # Only now: endpoint events for a new agent before the engine knew it would be lost.
        self.shared.config = agents
        for agent in removed:
            self.endpoints.forget(agent)
        if self.shared.connected:
            await self.endpoints.watch(added)
        log.info("queue.reconfigured", added=added, removed=removed)

    async def close(self) -> None:
        """The app stops: no ring may outlive it (it would reach an agent with no caller)."""
        if self._timer is not None:
            self._timer.cancel()
        if self.shared.connected:
            await self.rings.hang_up_all()
        await self.shared.cancel_tasks(self._worker)
        self._worker = None

    # --- the caller's side (QueueHandoff) ----------------------------------------------------

    async def wait_for_agent(self, call: CallContext, request: QueueRequest) -> None:
        await self.shared.wait_connected()  # an adopted caller may come before the connect hook
        if request.closed_action is not None:  # closed: a message, no wait for an agent
            await self.line.take_message(call, request)
            return
        await self.line.wait_for_agent(call, request)

    # --- the agent state API's side (QueueControl) --------------------------------------------

    def snapshot(self) -> q.QueueState:
        return self.state

    async def login(self, agent: str) -> None:
        await self.shared.settle(q.AgentLoggedIn(agent, now=self.clock()))

    async def logout(self, agent: str) -> None:
        await self.shared.settle(q.AgentLoggedOut(agent, now=self.clock()))

    async def pause(self, agent: str, reason: str) -> None:
        await self.shared.settle(q.AgentPaused(agent, reason, now=self.clock()))

    async def ready(self, agent: str) -> None:
        await self.shared.settle(q.AgentReady(agent, now=self.clock()))

    async def transfer(self, agent: str, number: str) -> bool:
        """Send the caller `agent` talks to on to `number` (a configured transfer target,
        checked by the caller) through the dialplan's transfer context, annotated as usual;
        the agent's leg is hung up and the agent is free. False: the agent talks to nobody."""
        conversation = next(
            (
                c
                for c in self.line.conversations()
                if c.agent == agent and c.talking and not c.ended
            ),
            None,
        )
        if conversation is None:
            return False
        self.shared.tell(conversation.call_id, Transferred(number, "agent"))
        conversation.caller.ends("transfer")
        log.info("queue.transferred_from_screen", agent=agent, call=conversation.call_id)
        await self.rest.continue_in_dialplan(
            conversation.call_id, context=TRANSFER_CONTEXT, extension=number, priority=1
        )
        return True

    async def voicemail_audio(self, recording: str) -> bytes | None:
        try:
            return await self.rest.stored_recording_file(recording)
        except AriNotFound:
            return None

    # --- the worker ----------------------------------------------------------------------------

    def report(self, event: q.Event) -> None:
        self.shared.report(event)

    async def _work(self) -> None:
        inbox = self.shared.inbox
        while True:
            event, done = await inbox.get()
            self.state, effects = q.step(self.state, event)
            for effect in effects:
                try:
                    await self._carry_out(effect)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one failed request must not stop the queue for everyone
                    log.exception("queue.effect_failed", effect=repr(effect))
            await self._save_agent_state()
            if self.shared.connected:
                await self.mirror.update(self.rest, self.state)
            if done is not None and not done.done():
                done.set_result(None)

    async def _save_agent_state(self) -> None:
        if self.agent_state is None:
            return
        view = saved_view(self.state)
        if view == self._saved:
            return
        try:
            await asyncio.to_thread(self.agent_state.save, view)
        except OSError as exc:  # the queue goes on; only a restart would forget the change
            log.error("queue.agent_state_not_saved", error=str(exc))
            return
        self._saved = view

    async def _carry_out(self, effect: q.Effect) -> None:
        match effect:
            case q.RingAgent(agent=agent, call=call, timeout=timeout):
                await self.rings.ring(agent, call, timeout, self._ring_target(call))
            case q.CancelRing(agent=agent, call=call):
                await self.rings.cancel(agent, call)
            case q.Connect(agent=agent, call=call):
                await self.legs.connect(agent, call)
            case q.AnnounceToCaller(call=call, position=position, expected_wait_s=wait):
                caller = self.line.get(call)
                if caller is not None:
                    caller.call.events.put_nowait(Announce(position, wait))
            case q.Overflow(call=call, action=action, reason=reason):
                caller = self.line.get(call)
                if caller is not None:
                    if isinstance(action, OverflowQueue):
                        caller.topic = action.queue
                    caller.call.events.put_nowait(OverflowNow(action, reason))
            case q.AutoPause(agent=agent):
                log.warning("queue.agent_autopaused", agent=agent)
            case q.StartTimer(at=at, reason=reason):
                self._start_timer(at, reason)
            case q.CallFinished():
                self._finished(effect)

    def _ring_target(self, call: str) -> RingTarget | None:
        caller = self.line.get(call)
        if caller is None:
            return None
        request = caller.request
        return RingTarget(
            request.caller_number,
            request.caller_id_name,
            dict(request.sip_headers),
            caller.topic,
        )

    def _start_timer(self, at: float, reason: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, at - self.clock())
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, lambda: self.report(q.Tick(now=at)))
        log.debug("queue.timer", at=at, reason=reason)

    def _finished(self, effect: q.CallFinished) -> None:
        caller = self.line.get(effect.call)
        client = ""
        if caller is not None:
            caller.in_engine = False
            client = caller.request.client_id or ""
        self.finished.append(
            Finished(
                effect.call,
                effect.topic,
                client,
                effect.outcome,
                effect.waited,
                effect.agent,
                self.shared.now(),
            )
        )
        log.info(
            "queue.call_finished",
            call=effect.call,
            topic=effect.topic,
            outcome=effect.outcome,
            waited=round(effect.waited, 1),
            agent=effect.agent,
        )
