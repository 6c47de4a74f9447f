"""The queue on ARI: rings agents, plays the whisper, bridges caller and agent.

The imperative shell around `stadtruf.core.queue` (the pure engine). Everything that happens on
Asterisk is turned into an engine event and reported to one worker task, which steps the
engine and carries out its effects in order:

- `RingAgent` → originate ``PJSIP/<agent>`` into this Stasis app with the arguments
  ``agent-leg,<call>`` and the caller's annotation (caller-ID name, ``X-Origin-City`` and
  ``X-Topic`` headers). Ring channels are named ``stadtruf-ring-…``, so the agents' device state
  can leave our own rings out. A ring channel destroyed before it entered Stasis reports why:
  cause 19/18 → `RingTimedOut`, 17/21 → `RingFailed(busy)`, anything else `RingFailed`.
- The agent's leg entering Stasis → `RingAnswered`. The engine answers with `Connect` (or, for a
  stale answer, `CancelRing`: the leg is hung up).
- `Connect` → a `Conversation`: whisper to the agent only ("Bottrop — Kfz-Zulassung") while the
  caller still hears music, then one mixing bridge for both. Whoever hangs up ends the other
  leg and the bridge. An agent who hangs up during the whisper puts the caller back in line,
  at their old place.
- Endpoint state (``endpoint:PJSIP/agent-*`` subscription) → `AgentRegistered` /
  `AgentUnregistered` and `DeviceBusy` / `DeviceFree` (channels on the endpoint that are not
  our rings).
- The caller's own task (`wait_for_agent`) waits in the topic's holding bridge with music,
  plays the engine's announcements, takes "1" for a callback where the queue offers one, and
  carries out the overflow.

Agents are logged in, paused and made ready through `login`/`pause`/… (the agent state API).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from ari_app.application import (
    ADOPTED_CONVERSATION,
    CONVERSATION_BRIDGE_PREFIX,
    REPLACES,
    CallContext,
    CallSignal,
    StasisApplication,
)
from ari_app.call import TRANSFER_CONTEXT, CallerGone
from ari_app.errors import AriError, AriNotFound
from ari_app.events import Event
from ari_app.handoff import HANGUP_EVENTS, HoldingBridges, QueueRequest
from ari_app.rest import AriRest
from stadtruf.config.agents import (
    AgentsConfig,
    OverflowAction,
    OverflowAnnounce,
    OverflowCallback,
    OverflowQueue,
    OverflowTransfer,
    OverflowVoicemail,
)
from stadtruf.core import queue as q
from stadtruf.core.annotation import header_variable
from stadtruf.core.numbers import normalize
from stadtruf.core.prompts import SpokenText, media_uri
from stadtruf.core.queue_prompts import (
    callback_confirmed,
    callback_hint,
    callback_offer,
    callback_unavailable,
    entry_announcement,
    position_announcement,
    voicemail_prompt,
    voicemail_saved,
    whisper,
)
from stadtruf.store.agent_state import AgentStateFile, SavedAgent, restore_events, saved_view
from stadtruf.store.callbacks import CallbackRequest, CallbackStore

log = structlog.get_logger(__name__)

AGENT_LEG = "agent-leg"
AGENT_TRANSFER = "agent-transfer"  # Stasis args of a transfer's dialling half (dialplan)
RING_PREFIX = "stadtruf-ring-"
CONVERSATION_PREFIX = CONVERSATION_BRIDGE_PREFIX
AGENT_TRANSFER_CONTEXT = "stadtruf-agent-transfer"  # see dialplan/stadtruf.conf
# proxy_media: media always through Asterisk. With native RTP bridging, after our own audio
# (music on hold, whisper) the far end lost one direction for the whole call in 22 of 35
# test calls (Asterisk peers, see docs/decisions.md #7); through Asterisk 10 of 10 were fine.
CONVERSATION_BRIDGE_TYPE = "mixing,proxy_media"
CALLBACK_DIGIT = "1"
TRANSFER_GRACE = 2.0  # seconds for a transfer's replacement to show after the agent left
CALLBACK_OFFER_TIMEOUT = 10.0  # seconds to press 1 after the offer at the maximum wait
VOICEMAIL_PREFIX = "stadtruf-vm-"  # recording names; Asterisk stores them as <name>.wav
VOICEMAIL_END_DIGIT = "#"
VOICEMAIL_SILENCE_S = 10  # a caller silent this long is done (or has put the phone down)
VOICEMAIL_MIN_S = 1  # shorter is a hang-up at the beep, not a message
VOICEMAIL_SETTLE_S = 3.0  # after a hang-up, how long Asterisk may take to close the file
FINISHED_KEPT = 1000  # finished calls kept in memory for the wallboard's service level

# Q.850 causes of a ring that ended before the agent answered.
_NO_ANSWER = frozenset({18, 19})
_BUSY = frozenset({17, 21})


# --- Signals to a call's task ------------------------------------------------------------------


@dataclass(frozen=True)
class _Announce(CallSignal):
    position: int
    expected_wait_s: int | None


@dataclass(frozen=True)
class _Overflow(CallSignal):
    action: OverflowAction
    reason: str


@dataclass(frozen=True)
class _Connected(CallSignal):
    conversation: Conversation


# --- What the adapter keeps per call ------------------------------------------------------------


@dataclass(eq=False)
class _Waiter:
    """A caller handed to the queue, from `wait_for_agent` until the call is over."""

    call: CallContext
    request: QueueRequest
    arrived: float
    queued_at: datetime
    topic: str  # the queue they are in now (changes on overflow to another queue)
    in_engine: bool = True
    bridge_topic: str | None = None  # the holding bridge they are in
    playback: str | None = None  # the announcement playing to them
    announced: bool = False
    conversation: Conversation | None = None


@dataclass(eq=False)
class _Ring:
    id: str  # the agent leg's channel id
    agent: str
    call: str
    leg: CallContext | None = None  # once answered (in Stasis)
    cancelled: bool = False
    conversation: Conversation | None = None  # once connected


@dataclass(frozen=True)
class Finished:
    """A caller's time in the queue, for reports and the wallboard."""

    call: str
    topic: str
    client: str
    outcome: q.Outcome
    waited: float
    agent: str | None
    at: datetime


class CallDistributor:
    """The queue for the whole service center: one engine state, one worker task."""

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
    ) -> None:
        """`language` is the agents' (whisper); `logged_in` agents start logged in, as do
        the agents `agent_state` saw logged in (and paused) when the app last ran."""
        self.config = agents
        self.agent_state = agent_state
        self._saved: dict[str, SavedAgent] | None = None
        self.app_name = app_name
        self.language = language
        self.callbacks = callbacks
        self._clock = clock
        self.state = q.new_queue(agents, clock())
        self._initial_logins = tuple(logged_in)
        self._rest: AriRest | None = None
        # Events with an optional future the worker resolves once their effects are done.
        self._inbox: asyncio.Queue[tuple[q.Event, asyncio.Future[None] | None]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._waiting: dict[str, _Waiter] = {}
        self._rings: dict[str, _Ring] = {}  # ring channel id → ring
        self._ring_of: dict[tuple[str, str], _Ring] = {}  # (agent, call) → ring
        self._devices: dict[str, tuple[bool, bool]] = {}  # agent → (registered, busy) reported
        self._adopted: set[str] = set()  # agent legs of conversations from before a restart
        # A transfer's Local channel half in our bridge (by name) → its conversation.
        self._replacements: dict[str, Conversation] = {}
        self._replacement_added = asyncio.Condition()
        self._bridges = HoldingBridges()
        self._tasks: set[asyncio.Task[None]] = set()
        self.finished: deque[Finished] = deque(maxlen=FINISHED_KEPT)
        if agent_state is not None:
            # Read now (a small file, once): these events must come before any caller's.
            saved = agent_state.load()
            for event in restore_events(saved, agents, clock()):
                self.report(event)
            log.info("queue.agents_restored", path=str(agent_state.path), agents=len(saved))

    # --- wiring into the Stasis app --------------------------------------------------------

    def routes(self) -> dict[str, Callable[[CallContext], Any]]:
        return {
            AGENT_LEG: self.agent_leg,
            ADOPTED_CONVERSATION: self.adopted_conversation,
            REPLACES: self.replacement,
            AGENT_TRANSFER: self.transfer_dial,
        }

    def attach(self, app: StasisApplication) -> None:
        app.on_event.append(self._on_event)
        app.on_connect.append(lambda: self._on_connect(app))
        app.on_stop.append(self.close)

    async def _on_connect(self, app: StasisApplication) -> None:
        self._rest = app.rest
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="queue-worker")
            for agent in self._initial_logins:
                self.report(q.AgentLoggedIn(agent, now=self._clock()))
        await self._watch_endpoints([a.id for a in self.config.agents])

    async def _watch_endpoints(self, agents: Iterable[str]) -> None:
        """Endpoint state is ours to ask for: subscribe, then read what we may have missed."""
        for agent in agents:
            with contextlib.suppress(AriError):
                await self.rest.subscribe(self.app_name, f"endpoint:PJSIP/{agent}")
            try:
                endpoint = await self.rest.get_endpoint("PJSIP", agent)
            except AriNotFound:
                endpoint = {"state": "offline", "channel_ids": []}
            except AriError:
                log.warning("queue.endpoint_unreadable", agent=agent)
                continue
            self._endpoint_state(agent, endpoint)

    async def reconfigure(self, agents: AgentsConfig) -> None:
        """The agents file was reloaded: new settings, skills and agents from now on."""
        added = [a.id for a in agents.agents if a.id not in self.config.by_id]
        removed = [a.id for a in self.config.agents if a.id not in agents.by_id]
        await self._report_and_settle(q.ConfigChanged(agents, now=self._clock()))
        # Only now: endpoint events for a new agent before the engine knew it would be lost.
        self.config = agents
        for agent in removed:
            self._devices.pop(agent, None)
        if self._rest is not None:
            await self._watch_endpoints(added)
        log.info("queue.reconfigured", added=added, removed=removed)

    async def close(self) -> None:
        """The app stops: no ring may outlive it (it would reach an agent with no caller)."""
        if self._timer is not None:
            self._timer.cancel()
        if self._rest is not None:
            for ring in list(self._rings.values()):
                await _quietly(self._rest.hangup(ring.id))
        tasks = [t for t in (self._worker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._worker = None

    @property
    def clock(self) -> Callable[[], float]:
        """The clock of the engine's `now` (for views that show waiting and idle times)."""
        return self._clock

    @property
    def rest(self) -> AriRest:
        if self._rest is None:
            raise RuntimeError("the queue is not connected to Asterisk yet")
        return self._rest

    # --- the agent state API's side (QueueControl) --------------------------------------------

    def snapshot(self) -> q.QueueState:
        return self.state

    async def login(self, agent: str) -> None:
        await self._report_and_settle(q.AgentLoggedIn(agent, now=self._clock()))

    async def logout(self, agent: str) -> None:
        await self._report_and_settle(q.AgentLoggedOut(agent, now=self._clock()))

    async def pause(self, agent: str, reason: str) -> None:
        await self._report_and_settle(q.AgentPaused(agent, reason, now=self._clock()))

    async def ready(self, agent: str) -> None:
        await self._report_and_settle(q.AgentReady(agent, now=self._clock()))

    async def voicemail_audio(self, recording: str) -> bytes | None:
        try:
            return await self.rest.stored_recording_file(recording)
        except AriNotFound:
            return None

    async def _report_and_settle(self, event: q.Event) -> None:
        """Report and wait until the worker has carried it out, so the answer shows it."""
        done = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait((event, done))
        async with asyncio.timeout(10):
            await done

    # --- the worker ----------------------------------------------------------------------------

    def report(self, event: q.Event) -> None:
        self._inbox.put_nowait((event, None))

    async def _work(self) -> None:
        while True:
            event, done = await self._inbox.get()
            self.state, effects = q.step(self.state, event)
            for effect in effects:
                try:
                    await self._carry_out(effect)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one failed request must not stop the queue for everyone
                    log.exception("queue.effect_failed", effect=repr(effect))
            await self._save_agent_state()
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
                await self._ring(agent, call, timeout)
            case q.CancelRing(agent=agent, call=call):
                ring = self._ring_of.pop((agent, call), None)
                if ring is not None:
                    ring.cancelled = True
                    self._rings.pop(ring.id, None)
                    log.info("queue.ring_cancelled", agent=agent, call=call)
                    with contextlib.suppress(AriError):
                        await self.rest.hangup(ring.id)
            case q.Connect(agent=agent, call=call):
                await self._connect(agent, call)
            case q.AnnounceToCaller(call=call, position=position, expected_wait_s=wait):
                waiter = self._waiting.get(call)
                if waiter is not None:
                    waiter.call.events.put_nowait(_Announce(position, wait))
            case q.Overflow(call=call, action=action, reason=reason):
                waiter = self._waiting.get(call)
                if waiter is not None:
                    if isinstance(action, OverflowQueue):
                        waiter.topic = action.queue
                    waiter.call.events.put_nowait(_Overflow(action, reason))
            case q.AutoPause(agent=agent):
                log.warning("queue.agent_autopaused", agent=agent)
            case q.StartTimer(at=at, reason=reason):
                if self._timer is not None:
                    self._timer.cancel()
                delay = max(0.0, at - self._clock())
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(delay, lambda: self.report(q.Tick(now=at)))
                log.debug("queue.timer", at=at, reason=reason)
            case q.CallFinished(call=call, topic=topic, outcome=outcome, waited=waited):
                waiter = self._waiting.get(call)
                client = ""
                if waiter is not None:
                    waiter.in_engine = False
                    client = waiter.request.client_id or ""
                self.finished.append(
                    Finished(call, topic, client, outcome, waited, effect.agent, datetime.now(UTC))
                )
                log.info(
                    "queue.call_finished",
                    call=call,
                    topic=topic,
                    outcome=outcome,
                    waited=round(waited, 1),
                    agent=effect.agent,
                )

    # --- ringing agents ------------------------------------------------------------------------

    async def _ring(self, agent: str, call: str, seconds: float) -> None:
        waiter = self._waiting.get(call)
        if waiter is None:  # the caller's task is gone; the engine hears of it right after
            self.report(q.RingFailed(agent, call, now=self._clock()))
            return
        ring = _Ring(f"{RING_PREFIX}{uuid.uuid4().hex[:16]}", agent, call)
        self._rings[ring.id] = ring
        self._ring_of[(agent, call)] = ring
        request = waiter.request
        variables = {
            f"PJSIP_HEADER(add,{name})": value for name, value in request.sip_headers.items()
        }
        variables["STADTRUF_CALL"] = call
        variables["STADTRUF_TOPIC"] = waiter.topic
        # The agent's blind transfer (SIP REFER) sends the caller to the transfer dialplan,
        # which dials on with the caller's annotation as SIP headers.
        variables["TRANSFER_CONTEXT"] = AGENT_TRANSFER_CONTEXT
        name = request.caller_id_name.replace('"', "'")
        log.info("queue.ring", agent=agent, call=call, timeout=seconds)
        try:
            await self.rest.originate(
                f"PJSIP/{agent}",
                app=self.app_name,
                app_args=f"{AGENT_LEG},{call}",
                channel_id=ring.id,
                caller_id=f'"{name}" <{request.caller_number}>',
                variables=variables,
                timeout=max(1, math.ceil(seconds)),
            )
        except AriError as exc:
            log.warning("queue.ring_failed", agent=agent, call=call, error=str(exc))
            self._forget_ring(ring)
            self.report(q.RingFailed(agent, call, now=self._clock()))

    def _forget_ring(self, ring: _Ring) -> None:
        self._rings.pop(ring.id, None)
        if self._ring_of.get((ring.agent, ring.call)) is ring:
            del self._ring_of[(ring.agent, ring.call)]

    def _on_event(self, event: Event) -> None:
        """Events no call task takes: rings ending unanswered, endpoint state."""
        if event.type == "ChannelDestroyed":
            ring = self._rings.get(event.channel_id or "")
            if ring is not None and ring.leg is None:
                self._forget_ring(ring)
                cause = int(event.raw.get("cause", 0) or 0)
                now = self._clock()
                log.info("queue.ring_ended", agent=ring.agent, call=ring.call, cause=cause)
                if cause in _NO_ANSWER:
                    self.report(q.RingTimedOut(ring.agent, ring.call, now=now))
                else:
                    why = "busy" if cause in _BUSY else "unreachable"
                    self.report(q.RingFailed(ring.agent, ring.call, now=now, cause=why))
        elif event.type == "EndpointStateChange":
            endpoint = event.raw.get("endpoint", {})
            if endpoint.get("technology") == "PJSIP":
                self._endpoint_state(str(endpoint.get("resource", "")), endpoint)

    def _endpoint_state(self, agent: str, endpoint: dict[str, Any]) -> None:
        if agent not in self.config.by_id:
            return
        registered = endpoint.get("state") == "online"
        # Our own rings and conversations show on the endpoint too; only other calls count.
        busy = any(
            not str(c).startswith(RING_PREFIX) or str(c) in self._adopted
            for c in endpoint.get("channel_ids", ())
        )
        before = self._devices.get(agent)
        now = self._clock()
        if before is None or before[0] != registered:
            event: q.Event = (
                q.AgentRegistered(agent, now=now)
                if registered
                else q.AgentUnregistered(agent, now=now)
            )
            self.report(event)
        if before is None or before[1] != busy:
            self.report(q.DeviceBusy(agent, now=now) if busy else q.DeviceFree(agent, now=now))
        if before != (registered, busy):
            log.info("queue.agent_device", agent=agent, registered=registered, busy=busy)
        self._devices[agent] = (registered, busy)

    async def agent_leg(self, leg: CallContext) -> None:
        """The agent answered one of our rings: the leg is in Stasis now."""
        ring = self._rings.get(leg.channel_id)
        if ring is None or ring.cancelled:
            log.info("queue.stale_answer", channel=leg.channel_id)
            with contextlib.suppress(AriError):
                await leg.rest.hangup(leg.channel_id)
            return
        ring.leg = leg
        # Not the caller's apology route on shutdown: an agent's leg is hung up (below), or
        # stays up while it talks.
        leg.hand_back_on_stop = False
        structlog.contextvars.bind_contextvars(agent=ring.agent, call=ring.call)
        log.info("queue.ring_answered")
        self.report(q.RingAnswered(ring.agent, ring.call, now=self._clock()))
        try:
            await self._agent_leg_events(leg, ring)
        except asyncio.CancelledError:
            if ring.conversation is None or not ring.conversation.talking:
                await _quietly(leg.rest.hangup(leg.channel_id))
            raise

    async def _agent_leg_events(self, leg: CallContext, ring: _Ring) -> None:
        conversation: Conversation | None = None
        hung_up = False
        while True:
            item = await leg.next_event()
            if isinstance(item, _Connected):
                conversation = item.conversation
                self._start(conversation.run())
            elif isinstance(item, Event) and item.type in HANGUP_EVENTS:
                self._forget_ring(ring)
                hung_up = hung_up or item.type != "StasisEnd"
                if conversation is not None and not hung_up:
                    # Left Stasis alive, without hanging up: the agent's blind transfer. The
                    # Local channel that takes the agent's place arrives as a replacement.
                    await conversation.wait_replaced(TRANSFER_GRACE)
                if conversation is not None:
                    await conversation.end("agent", leg.channel_id)
                return
            elif isinstance(item, Event) and conversation is not None:
                conversation.on_agent_event(item)

    async def adopted_conversation(self, leg: CallContext) -> None:
        """A caller or agent still talking from before the app restarted (see application).

        The engine does not know this conversation: the agent counts as busy (device state)
        until it ends, and whoever hangs up first ends the other leg and the bridge.
        """
        leg.hand_back_on_stop = False
        bridge_id = leg.args[1] if len(leg.args) > 1 else ""
        if leg.channel_id.startswith(RING_PREFIX):
            self._adopted.add(leg.channel_id)
        try:
            bridges = {str(b["id"]): b for b in await leg.rest.list_bridges()}
            members = bridges.get(bridge_id, {}).get("channels", [])
            if len(members) >= 2:
                while True:
                    item = await leg.next_event()
                    if isinstance(item, Event) and item.type in HANGUP_EVENTS:
                        break
                members = [m for m in members if m != leg.channel_id]
            for channel in {*members, leg.channel_id}:
                await _quietly(leg.rest.hangup(str(channel)))
            await _quietly(leg.rest.destroy_bridge(bridge_id))
            log.info("queue.adopted_conversation_ended", bridge=bridge_id)
        finally:
            self._adopted.discard(leg.channel_id)

    async def replacement(self, leg: CallContext) -> None:
        """A channel that took another's place in one of our bridges (a transfer's Local)."""
        replaced = leg.args[1] if len(leg.args) > 1 else ""
        conversation = next(
            (c for c in self._conversations() if c.leg.channel_id == replaced), None
        )
        if conversation is None:
            log.warning("queue.unknown_replacement", replaced=replaced)
            await _quietly(leg.rest.hangup(leg.channel_id))
            return
        conversation.replace_agent_leg(leg)
        name = str(leg.channel.get("name", ""))
        async with self._replacement_added:
            self._replacements[name] = conversation
            self._replacement_added.notify_all()
        try:
            while True:
                item = await leg.next_event()
                if isinstance(item, Event) and item.type in HANGUP_EVENTS:
                    await conversation.end("agent", leg.channel_id)
                    return
        finally:
            self._replacements.pop(name, None)

    async def transfer_dial(self, leg: CallContext) -> None:
        """The dialling half of an agent's transfer: give it the call's annotation, go on.

        Its other half (``…;1``) replaces the agent in our bridge; that may show a moment later.
        """
        name = str(leg.channel.get("name", ""))
        partner = name[:-1] + "1" if name.endswith(";2") else ""
        conversation: Conversation | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TRANSFER_GRACE), self._replacement_added:
                while (conversation := self._replacements.get(partner)) is None:
                    await self._replacement_added.wait()
        if conversation is None:
            log.warning("queue.transfer_without_call", channel=name)
        else:
            request = conversation.waiter.request
            for header, value in request.sip_headers.items():
                variable = header_variable(header)
                await _quietly(leg.rest.set_var(leg.channel_id, variable, value))
            await _quietly(leg.rest.set_var(leg.channel_id, "CALLERID(num)", request.caller_number))
            await _quietly(
                leg.rest.set_var(leg.channel_id, "CALLERID(name)", request.caller_id_name)
            )
            log.info("queue.transfer_annotated", agent=conversation.agent, channel=name)
        await _quietly(leg.rest.continue_in_dialplan(leg.channel_id))

    def _conversations(self) -> list[Conversation]:
        return [w.conversation for w in self._waiting.values() if w.conversation is not None]

    async def _connect(self, agent: str, call: str) -> None:
        ring = self._ring_of.pop((agent, call), None)
        waiter = self._waiting.get(call)
        if ring is None or ring.leg is None or waiter is None:
            # The caller hung up as the agent answered: the engine had the answer first, the
            # caller's task was over before this Connect. The agent's leg must not stay up.
            log.info("queue.caller_gone_before_connect", agent=agent, call=call)
            if ring is not None:
                self._forget_ring(ring)
                if ring.leg is not None:
                    await _quietly(self.rest.hangup(ring.leg.channel_id))
            self.report(q.CallEnded(agent, call, now=self._clock()))
            return
        conversation = Conversation(self, ring, waiter)
        ring.conversation = conversation
        waiter.conversation = conversation
        waiter.call.events.put_nowait(_Connected(conversation))
        ring.leg.events.put_nowait(_Connected(conversation))

    def _start(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _requeue(self, waiter: _Waiter) -> None:
        """The agent left during the whisper: the caller goes back in line at their place."""
        waiter.conversation = None
        waiter.in_engine = True
        request = waiter.request
        self.report(
            q.CallerJoined(
                waiter.call.channel_id,
                waiter.topic,
                request.client_id or "",
                now=self._clock(),
                priority=self._priority(request, waiter.topic),
                language=request.language,
                arrived=waiter.arrived,
            )
        )

    def _priority(self, request: QueueRequest, topic: str) -> int:
        return self.config.priority_for(topic, request.client_id or "", request.dialled)

    # --- the caller's side ---------------------------------------------------------------------

    async def wait_for_agent(self, call: CallContext, request: QueueRequest) -> None:
        """The caller's task from the hand-off until the call is over for the app."""
        now = self._clock()
        waiter = _Waiter(call, request, now, datetime.now(UTC), request.topic)
        self._waiting[call.channel_id] = waiter
        structlog.contextvars.bind_contextvars(topic=request.topic)
        try:
            await self._bridges.join(call.rest, call.channel_id, request.topic)
            waiter.bridge_topic = request.topic
            await call.rest.start_moh(call.channel_id)
            self.report(
                q.CallerJoined(
                    call.channel_id,
                    request.topic,
                    request.client_id or "",
                    now=now,
                    priority=self._priority(request, request.topic),
                    language=request.language,
                )
            )
            log.info("call.queued", priority=self._priority(request, request.topic))
            await self._wait(waiter)
        finally:
            self._waiting.pop(call.channel_id, None)
            if waiter.in_engine:
                self.report(q.CallerLeft(call.channel_id, now=self._clock()))
            if waiter.bridge_topic is not None:
                await self._bridges.leave(call.rest, call.channel_id, waiter.bridge_topic)

    async def _wait(self, waiter: _Waiter) -> None:
        call = waiter.call
        while True:
            item = await call.next_event()
            if isinstance(item, Event):
                if item.type in HANGUP_EVENTS:
                    if waiter.conversation is not None:
                        await waiter.conversation.end("caller")
                    return
                if item.type == "PlaybackFinished" and item.playback_id == waiter.playback:
                    waiter.playback = None
                    if waiter.conversation is None:
                        await _quietly(call.rest.start_moh(call.channel_id))
                elif (
                    item.type == "ChannelDtmfReceived"
                    and item.digit == CALLBACK_DIGIT
                    and waiter.conversation is None
                    and waiter.in_engine
                    and self._offers_callback(waiter.topic)
                ):
                    if await self._take_callback(waiter, keep_place=True):
                        return
            elif isinstance(item, _Announce):
                if waiter.conversation is None and waiter.in_engine:
                    await self._announce(waiter, item)
            elif isinstance(item, _Connected):
                waiter.conversation = item.conversation
            elif isinstance(item, _Overflow):
                if await self._overflow(waiter, item.action, item.reason):
                    return

    def _offers_callback(self, topic: str) -> bool:
        return isinstance(self.config.rules(topic).overflow, OverflowCallback)

    async def _announce(self, waiter: _Waiter, announce: _Announce) -> None:
        language = waiter.request.language
        texts: list[SpokenText] = []
        if not waiter.announced:
            texts += entry_announcement(language)
            waiter.announced = True
        texts += position_announcement(announce.position, announce.expected_wait_s, language)
        if self._offers_callback(waiter.topic) and waiter.request.caller_number:
            texts += callback_hint(language)
        log.info("call.announce", position=announce.position, wait=announce.expected_wait_s)
        await self._play(waiter, [t.media_uri for t in texts])

    async def _play(self, waiter: _Waiter, media: Sequence[str]) -> None:
        call = waiter.call
        if waiter.playback is not None:
            await _quietly(call.rest.stop_playback(waiter.playback))
        await _quietly(call.rest.stop_moh(call.channel_id))
        waiter.playback = f"{call.channel_id}-queue-{uuid.uuid4().hex[:8]}"
        await call.rest.play(
            call.channel_id, list(media), playback_id=waiter.playback, lang=waiter.request.language
        )

    async def _overflow(self, waiter: _Waiter, action: OverflowAction, reason: str) -> bool:
        """Carry out the overflow; True when the call is over for the queue."""
        call = waiter.call
        log.info("call.overflow", action=type(action).__name__, queue=waiter.topic, reason=reason)
        match action:
            case OverflowQueue(queue=topic):
                await self._move(waiter, topic)
                return False
            case OverflowTransfer(transfer=target):
                await self._leave_holding(waiter)
                number = normalize(target)
                if number is None:
                    await call.rest.set_var(call.channel_id, "STADTRUF_TRANSFER_ENDPOINT", target)
                await call.rest.set_var(call.channel_id, "STADTRUF_ROUTE", f"overflow:{target}")
                await call.rest.continue_in_dialplan(
                    call.channel_id,
                    context=TRANSFER_CONTEXT,
                    extension=number or "endpoint",
                    priority=1,
                )
                return True
            case OverflowCallback():
                return await self._take_callback(waiter, keep_place=False)
            case OverflowAnnounce(announce=prompt):
                await self._leave_holding(waiter)
                await self._play_to_end(waiter, [media_uri(prompt, waiter.request.language)])
                await _quietly(call.rest.hangup(call.channel_id))
                return True
            case OverflowVoicemail():
                await self._take_voicemail(waiter, action)
                return True
        return False  # pragma: no cover - the union is exhausted above

    async def _move(self, waiter: _Waiter, topic: str) -> None:
        call = waiter.call
        await self._leave_holding(waiter)
        await self._bridges.join(call.rest, call.channel_id, topic)
        waiter.bridge_topic = topic
        if waiter.playback is None:
            await _quietly(call.rest.start_moh(call.channel_id))

    async def _leave_holding(self, waiter: _Waiter) -> None:
        call = waiter.call
        if waiter.playback is not None:
            await _quietly(call.rest.stop_playback(waiter.playback))
            waiter.playback = None
        await _quietly(call.rest.stop_moh(call.channel_id))
        if waiter.bridge_topic is not None:
            topic, waiter.bridge_topic = waiter.bridge_topic, None
            await self._bridges.leave(call.rest, call.channel_id, topic)

    async def _take_callback(self, waiter: _Waiter, *, keep_place: bool) -> bool:
        """Record a callback request. `keep_place`: the caller pressed 1 while waiting.

        At the maximum wait the caller is asked first, and a caller who does not press 1 is
        told goodbye. Without a number to call back, the caller keeps waiting (while waiting)
        or hears the apology. True when the call is over.
        """
        call, request = waiter.call, waiter.request
        language = request.language
        number = normalize(request.caller_number)
        if number is None:
            if keep_place:
                await self._play(waiter, [t.media_uri for t in callback_unavailable(language)])
                return False
            await self._leave_holding(waiter)
            await self._play_to_end(waiter, [t.media_uri for t in callback_unavailable(language)])
            await _quietly(call.rest.hangup(call.channel_id))
            return True
        await self._leave_holding(waiter)
        if not keep_place:
            digit = await self._play_to_end(
                waiter,
                [t.media_uri for t in callback_offer(language)],
                digits=CALLBACK_DIGIT,
                wait_after=CALLBACK_OFFER_TIMEOUT,
            )
            if digit != CALLBACK_DIGIT:
                log.info("call.callback_declined")
                await _quietly(call.rest.hangup(call.channel_id))
                return True
        else:
            # Out of the line before the confirmation plays: nobody may ring for them now.
            self.report(q.CallerLeft(call.channel_id, now=self._clock(), reason="callback"))
            waiter.in_engine = False
        await self._store_callback(waiter, number)
        await self._play_to_end(waiter, [t.media_uri for t in callback_confirmed(language)])
        await _quietly(call.rest.hangup(call.channel_id))
        return True

    async def _take_voicemail(self, waiter: _Waiter, action: OverflowVoicemail) -> None:
        """Prompt, beep, record until #, silence, the maximum length or a hang-up; then the
        message goes into the callback list like a callback request, with the recording.

        A caller who hangs up during the message has still left it: the part recorded so far
        is kept (Asterisk closes the file on the hang-up). If Asterisk cannot record, the
        caller is not lost either: a plain callback request is stored instead.
        """
        call, language = waiter.call, waiter.request.language
        await self._leave_holding(waiter)
        await self._play_to_end(waiter, [t.media_uri for t in voicemail_prompt(language)])
        name = f"{VOICEMAIL_PREFIX}{uuid.uuid4().hex[:12]}"
        structlog.contextvars.bind_contextvars(recording=name)
        try:
            await call.rest.record(
                call.channel_id,
                name,
                max_duration_s=math.ceil(action.max_length),
                max_silence_s=VOICEMAIL_SILENCE_S,
                beep=True,
                terminate_on=VOICEMAIL_END_DIGIT,
            )
        except AriNotFound:
            raise CallerGone from None
        except AriError as exc:
            # E.g. no spool/recording directory in this Asterisk (ARI answers 500).
            log.error("call.voicemail_unavailable", error=str(exc))
            await self._take_callback(waiter, keep_place=False)
            return
        log.info("call.voicemail_recording")
        stored, seconds, hung_up = await self._recording_done(call, name, action.max_length)
        if not stored or (seconds is not None and seconds < VOICEMAIL_MIN_S):
            log.info("call.voicemail_empty", seconds=seconds)
            with contextlib.suppress(AriError):
                await call.rest.delete_stored_recording(name)
        else:
            number = normalize(waiter.request.caller_number) or ""
            await self._store_callback(waiter, number, recording=(name, seconds))
        if hung_up:
            return
        await self._play_to_end(waiter, [t.media_uri for t in voicemail_saved(language)])
        await _quietly(call.rest.hangup(call.channel_id))

    async def _recording_done(
        self, call: CallContext, name: str, max_length: float
    ) -> tuple[bool, float | None, bool]:
        """Wait for the recording `name` to end: whether Asterisk stored it, its length in
        seconds (None: unknown) and whether the caller hung up."""
        deadline = self._clock() + max_length + VOICEMAIL_SILENCE_S + 5
        hung_up = False
        while True:
            try:
                item = await asyncio.wait_for(call.next_event(), deadline - self._clock())
            except TimeoutError:
                break  # no end event (lost, or after the channel was gone): ask for the file
            if not isinstance(item, Event):
                continue
            if item.type in HANGUP_EVENTS and not hung_up:
                hung_up = True
                deadline = min(deadline, self._clock() + VOICEMAIL_SETTLE_S)
            elif item.recording_name == name and item.type == "RecordingFinished":
                duration = item.raw.get("recording", {}).get("duration")
                seconds = float(duration) if isinstance(duration, int | float) else None
                return True, seconds, hung_up
            elif item.recording_name == name and item.type == "RecordingFailed":
                log.warning("call.voicemail_failed", cause=item.raw.get("recording", {}))
                break
        if not hung_up:
            with contextlib.suppress(AriError):
                await call.rest.stop_recording(name)
        try:
            await call.rest.get_stored_recording(name)
        except AriError:
            return False, None, hung_up
        return True, None, hung_up

    async def _store_callback(
        self, waiter: _Waiter, number: str, *, recording: tuple[str, float | None] | None = None
    ) -> None:
        request = waiter.request
        record = CallbackRequest(
            id=uuid.uuid4().hex[:12],
            number=number,
            client=request.client_id or "",
            topic=waiter.topic,
            language=request.language,
            requested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            queued_at=waiter.queued_at.isoformat(timespec="seconds"),
            waited_s=round(self._clock() - waiter.arrived, 1),
            status="open",
            done_by=None,
            recording=recording[0] if recording else None,
            recording_s=recording[1] if recording else None,
        )
        if self.callbacks is not None:
            # A file append with fsync: off the event loop.
            await asyncio.get_running_loop().run_in_executor(None, self.callbacks.add, record)
        log.info(
            "call.callback_stored",
            callback=record.id,
            number=number,
            kind=record.kind,
            seconds=record.recording_s,
        )

    async def _play_to_end(
        self,
        waiter: _Waiter,
        media: Sequence[str],
        *,
        digits: str = "",
        wait_after: float = 0.0,
    ) -> str | None:
        """Play and wait for the end (or one of `digits`, also up to `wait_after` s after)."""
        call = waiter.call
        playback = f"{call.channel_id}-queue-{uuid.uuid4().hex[:8]}"
        await call.rest.play(call.channel_id, list(media), playback_id=playback)
        deadline: float | None = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            try:
                item = await asyncio.wait_for(call.next_event(), timeout)
            except TimeoutError:
                return None
            if not isinstance(item, Event):
                continue
            if item.type in HANGUP_EVENTS:
                raise CallerGone
            if item.type == "ChannelDtmfReceived" and item.digit and item.digit in digits:
                await _quietly(call.rest.stop_playback(playback))
                return item.digit
            if item.type == "PlaybackFinished" and item.playback_id == playback:
                if wait_after <= 0:
                    return None
                deadline = self._clock() + wait_after


class Conversation:
    """A caller and the agent who answered: whisper, then the mixing bridge, then the end."""

    def __init__(self, queue: CallDistributor, ring: _Ring, waiter: _Waiter) -> None:
        assert ring.leg is not None
        self.queue = queue
        self.agent = ring.agent
        self.leg = ring.leg
        self.waiter = waiter
        self.bridge_id = f"{CONVERSATION_PREFIX}{waiter.call.channel_id}"
        self.talking = False
        self.ended = False
        self._ended_by: str | None = None
        self._bridge_made = False
        # From the moment the caller is taken out of the holding bridge: the agent may be in
        # the conversation bridge (and heard) before the requests' answers are back.
        self._bridging = False
        self._whisper = f"{self.leg.channel_id}-whisper"
        self._whisper_done = asyncio.Event()
        self._replaced = asyncio.Event()
        self._agent_released = False  # CallEnded reported: the agent is free (or in wrap-up)

    @property
    def rest(self) -> AriRest:
        return self.queue.rest

    def on_agent_event(self, event: Event) -> None:
        if event.type == "PlaybackFinished" and event.playback_id == self._whisper:
            self._whisper_done.set()

    async def run(self) -> None:
        request = self.waiter.request
        log.info("queue.connect", agent=self.agent, call=self.waiter.call.channel_id)
        try:
            texts = whisper(request.client_name, request.topic_name, self.queue.language)
            await self.rest.play(
                self.leg.channel_id,
                [t.media_uri for t in texts],
                playback_id=self._whisper,
                lang=self.queue.language,
            )
            async with asyncio.timeout(20):  # a whisper is two words; never hold the caller
                await self._whisper_done.wait()
            if self.ended:
                return
            await self._bridge()
        except (AriError, TimeoutError) as exc:
            if not self.ended:
                log.warning("queue.connect_failed", error=str(exc))
                await self.end("agent" if not self._bridging else "error")
            elif self._bridging:  # a leg left while bridging: the bridge may be made after
                await self._teardown()

    async def _bridge(self) -> None:
        caller = self.waiter.call
        self._bridging = True
        await self.queue._leave_holding(self.waiter)
        await self.rest.create_bridge(
            CONVERSATION_BRIDGE_TYPE, bridge_id=self.bridge_id, name=self.bridge_id
        )
        self._bridge_made = True
        await self.rest.add_channel(self.bridge_id, caller.channel_id)
        await self.rest.add_channel(self.bridge_id, self.leg.channel_id)
        self.talking = True
        # From here a restart of the app leaves the two talking (see CallContext).
        caller.hand_back_on_stop = False
        self.leg.hand_back_on_stop = False
        log.info("queue.talking", agent=self.agent, bridge=self.bridge_id)
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
            call = self.waiter.call.channel_id
            self.queue.report(q.CallEnded(self.agent, call, now=self.queue._clock()))

    async def end(self, side: str, leg_id: str | None = None) -> None:
        """`side` ("caller" or "agent") left: end the other leg and the bridge, once.

        The side that left is not hung up: it is gone, or it left Stasis alive (the agent's
        blind transfer sends the caller on through the dialplan). `leg_id`: which agent-side
        leg left; one that was replaced (the transferring agent) ends nothing.
        """
        if leg_id is not None and leg_id != self.leg.channel_id:
            return
        if self.ended:
            return
        self.ended = True
        self._ended_by = side
        self._whisper_done.set()
        call = self.waiter.call.channel_id
        log.info("queue.conversation_ended", agent=self.agent, call=call, by=side)
        if side == "agent" and not self._bridging:
            # The caller never heard the agent: back in line, at their place, still with music.
            # Not once bridging began: the caller left the music, the agent may be heard.
            self._release_agent()
            with contextlib.suppress(AriError):
                await self.rest.hangup(self.leg.channel_id)
            if self._bridge_made:
                await _quietly(self.rest.destroy_bridge(self.bridge_id))
            if self.waiter.call.channel_id in self.queue._waiting:
                self.queue._requeue(self.waiter)
            return
        self._release_agent()
        await self._teardown()

    async def _teardown(self) -> None:
        legs = {"caller": self.waiter.call.channel_id, "agent": self.leg.channel_id}
        for side, channel in legs.items():
            if side != self._ended_by:
                await _quietly(self.rest.hangup(channel))
        if self._bridge_made:
            await _quietly(self.rest.destroy_bridge(self.bridge_id))


async def _quietly(request: Any) -> None:
    """A request whose target may be gone already (the caller hung up): that is fine."""
    with contextlib.suppress(AriError):
        await request


__all__ = ["AGENT_LEG", "CallDistributor", "Conversation", "Finished", "QueueRequest"]
