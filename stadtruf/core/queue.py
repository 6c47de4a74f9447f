"""The call queue (ACD) as a pure state machine: events in, effects out, no I/O, no clock.

ARI has no queue, so we keep one ourselves, modelled on Asterisk's app_queue. The ARI adapter
reports what happened as *events* (each carries the time `now`, in seconds on any monotonic
scale), calls `step`, and carries out the returned *effects* in order. The engine never rings,
bridges or waits by itself. One state for the whole service center: all topics, all agents,
because one agent can serve several topics.

Protocol
--------
Effects (the adapter does these):

- `RingAgent(agent, call, timeout)` – originate to the agent's endpoint for `call` and ring
  for `timeout` s; report `RingAnswered`, `RingTimedOut` or `RingFailed`.
- `CancelRing(agent, call)` – stop that ring (caller hung up, agent paused or logged out, the
  engine's own ring deadline passed). A later answer for it is stale and ignored: the adapter
  hangs up the agent's leg if it answered anyway.
- `Connect(agent, call)` – play the whisper (client/topic) to the agent, then bridge the two;
  report `CallEnded(agent, call)` when the conversation is over.
- `AnnounceToCaller(call, position, expected_wait_s)` – tell the caller their place in line
  (1 = next) and the expected wait (whole seconds, None: say nothing about time).
- `Overflow(call, action, reason)` – max wait reached, or the queue is empty of agents and
  says to leave (`join_empty: false`, `leave_when_empty: true`). `OverflowQueue`: the caller
  stays in the engine, now in that topic's line (adapter may move them to its holding
  bridge); every other action (`OverflowTransfer`, `OverflowCallback`, `OverflowAnnounce`,
  `OverflowVoicemail`) hands the call back to the adapter for good.
- `AutoPause(agent)` – the agent missed `autopause_after` rings in a row and is now paused
  with reason `autopause` (tell the agent's phone/UI, log it).
- `StartTimer(at, reason)` – report `Tick(at)` at time `at`. There is one timer: each
  `StartTimer` replaces the previous one. A `Tick` too early or too late does no harm.
- `CallFinished(call, topic, outcome, waited, agent)` – the caller's time in the queue is over:
  `connected` (right after its `Connect`), `overflow` (after a final `Overflow`), `abandoned`
  (hung up) or `callback` (asked to be called back, `CallerLeft(reason="callback")`).
  Exactly one per caller who joined; `waited` feeds `stadtruf.core.service_level`.

Events (the adapter reports these): `CallerJoined`, `CallerLeft`, `AgentLoggedIn`,
`AgentLoggedOut`, `AgentPaused(reason)`, `AgentReady`, `AgentRegistered`,
`AgentUnregistered`, `DeviceBusy`, `DeviceFree` (the phone is in use by a call that is not
ours, e.g. the agent dialled out; the adapter filters out the device states its own rings
cause), `RingAnswered`, `RingTimedOut`, `RingFailed(cause)`, `CallEnded`, `Tick`,
`ConfigChanged(config)` (the agents file was reloaded).
An event that does not fit the state (an answer for a ring already cancelled, an unknown
agent, a call that already left) changes nothing and yields no effects. Time never runs
backwards: an event older than the last one seen is taken to happen at the last time seen.

Rules
-----
- Callers of one topic are served strictly by (priority desc, arrival asc); a caller is only
  passed over while no free agent has a skill for them (an agent for another client). Priority
  is one scale across topics; the adapter sets it from the queue's `priorities` rules.
- The engine walks all waiting callers in that order, across topics, and gives each the best
  free agent with a matching skill: lowest level first, then the queue's strategy
  (`longest_idle`: free the longest; `fewest_calls`: fewest calls taken, then longest idle;
  `round_robin`: the next agent after the one rung last in this queue). So an agent that
  becomes free takes the highest priority, longest waiting caller of all its topics.
- An agent rings for one call at a time, and a caller rings one agent at a time. Never rung:
  logged out, paused, unregistered, device busy, ringing, busy, in wrap-up, or resting for
  `retry` s after a missed ring.
- A ring that times out or fails counts as a miss: the caller goes back to the line (keeping
  their place) and is offered to the next agent; agents who missed this caller come last.
  `autopause_after` misses in a row → paused `autopause`. An answer resets the count. The
  engine enforces `timeout + RING_GRACE` itself.
- After every call the agent is in wrap-up for the queue's `wrapup` s, then ready again.
- A caller waiting `max_wait` s in a queue gets its `overflow`. The original arrival time is
  kept on overflow into another queue, so the caller does not go to the back of the line there;
  an overflow into a queue the caller was already in is not followed (the caller stays where
  they are, without a further max wait; `check_agents` reports such loops).
- A queue is *empty* for a caller while no agent with a matching skill is logged in with a
  registered phone (paused or busy agents count: they come back). `join_empty: false` sends
  a caller joining an empty queue straight to the overflow (an overflow into such a queue
  counts as joining it); `leave_when_empty: true` sends waiting callers there as soon as
  their queue becomes empty. Both as app_queue's `joinempty` / `leavewhenempty`.
- Announcements: when a caller joins and is not rung at once, then every `announce_every` s,
  never while an agent is ringing for them.

Every caller ends in exactly one `CallFinished`: connected, overflow, abandoned or callback.

Example (agent-101 serves kfz, ring_timeout 15, wrapup 10)::

    q = new_queue(config)
    q, fx = step(q, AgentLoggedIn("agent-101", now=0))
    q, fx = step(q, AgentRegistered("agent-101", now=0))
    q, fx = step(q, CallerJoined("c1", topic="kfz", client="bottrop", now=5))
    # fx: RingAgent("agent-101", "c1", 15.0), StartTimer(22.0, "ring agent-101")
    q, fx = step(q, RingAnswered("agent-101", "c1", now=9))
    # fx: Connect("agent-101", "c1"), CallFinished("c1", "kfz", "connected", 4.0, "agent-101")
    q, fx = step(q, CallEnded("agent-101", "c1", now=200))
    # fx: StartTimer(210.0, "wrapup agent-101")
    q, fx = step(q, Tick(now=210))               # agent-101 ready again; fx == ()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field, replace
from enum import Enum
from typing import Literal

from stadtruf.config.agents import (
    AgentsConfig,
    OverflowAction,
    OverflowQueue,
    QueueRules,
)
from stadtruf.config.model import FrozenMap
from stadtruf.core.service_level import expected_wait, whole_seconds

# The adapter normally reports RingTimedOut itself; the engine's own deadline is a safety net
# against a lost event, so it gives the adapter this much head start.
RING_GRACE = 2.0
# Handle times remembered per topic for the expected-wait estimate.
HANDLE_TIME_WINDOW = 20
AUTOPAUSE = "autopause"

# --- Events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerJoined:
    call: str
    topic: str
    client: str
    _: KW_ONLY
    now: float
    priority: int = 0  # higher first; the adapter takes it from the queue's `priorities`
    language: str = "de"
    # A caller put back in line (the agent hung up during the whisper) keeps their place.
    arrived: float | None = None


@dataclass(frozen=True)
class CallerLeft:
    """The caller leaves the line: hung up, or asked to be called back (keeping their place
    in the callback list, which the adapter keeps)."""

    call: str
    _: KW_ONLY
    now: float
    reason: Literal["hangup", "callback"] = "hangup"


@dataclass(frozen=True)
class AgentLoggedIn:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentLoggedOut:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentPaused:
    agent: str
    reason: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentReady:
    """The agent ends a pause (also an `autopause`)."""

    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentRegistered:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentUnregistered:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class DeviceBusy:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class DeviceFree:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class RingAnswered:
    agent: str
    call: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class RingTimedOut:
    agent: str
    call: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class RingFailed:
    agent: str
    call: str
    _: KW_ONLY
    now: float
    cause: Literal["busy", "unreachable"] = "unreachable"


@dataclass(frozen=True)
class CallEnded:
    agent: str
    call: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class Tick:
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class ConfigChanged:
    """The agents file was reloaded: new settings, skills, agents.

    Agents new in the file start logged out; agents gone from it are dropped (a ring for
    them is cancelled, the caller goes back in line; a conversation in progress goes on in
    Asterisk, only its end is no longer counted). Callers keep their place and the deadlines
    they already have; the new queue settings apply from their next step on.
    """

    config: AgentsConfig
    _: KW_ONLY
    now: float


Event = (
    CallerJoined
    | CallerLeft
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentPaused
    | AgentReady
    | AgentRegistered
    | AgentUnregistered
    | DeviceBusy
    | DeviceFree
    | RingAnswered
    | RingTimedOut
    | RingFailed
    | CallEnded
    | Tick
    | ConfigChanged
)

# --- Effects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RingAgent:
    agent: str
    call: str
    timeout: float


@dataclass(frozen=True)
class CancelRing:
    agent: str
    call: str


@dataclass(frozen=True)
class Connect:
    agent: str
    call: str


@dataclass(frozen=True)
class AnnounceToCaller:
    call: str
    position: int
    expected_wait_s: int | None


@dataclass(frozen=True)
class Overflow:
    call: str
    action: OverflowAction
    # Why: the caller waited `max_wait`, or nobody is there to answer (`join_empty: false`
    # at joining, `leave_when_empty: true` while waiting).
    reason: Literal["max_wait", "empty"] = "max_wait"


@dataclass(frozen=True)
class AutoPause:
    agent: str


@dataclass(frozen=True)
class StartTimer:
    at: float
    reason: str


Outcome = Literal["connected", "overflow", "abandoned", "callback"]


@dataclass(frozen=True)
class CallFinished:
    call: str
    topic: str
    outcome: Outcome
    waited: float
    agent: str | None = None


Effect = (
    RingAgent
    | CancelRing
    | Connect
    | AnnounceToCaller
    | Overflow
    | AutoPause
    | StartTimer
    | CallFinished
)

# --- State ----------------------------------------------------------------------------------


class Activity(Enum):
    IDLE = "idle"
    RINGING = "ringing"
    BUSY = "busy"
    WRAPUP = "wrapup"


@dataclass(frozen=True)
class Caller:
    call: str
    topic: str
    client: str
    priority: int
    arrived: float  # when the caller joined the first queue; the order and `waited` use it
    seq: int  # join order, to break ties between equal arrival times
    language: str = "de"
    entered: float = 0.0  # when the caller entered the current topic's line
    ringing: str | None = None  # agent being rung for this caller
    max_wait_at: float | None = None
    next_announce: float | None = None
    visited: tuple[str, ...] = ()  # topics so far, to stop overflow loops
    missed_by: frozenset[str] = frozenset()  # agents who let this caller ring out

    @property
    def order(self) -> tuple[int, float, int]:
        return (-self.priority, self.arrived, self.seq)


@dataclass(frozen=True)
class AgentState:
    id: str
    logged_in: bool = False
    paused: str | None = None  # reason; may be set during a call, it applies afterwards
    registered: bool = False
    device_busy: bool = False
    activity: Activity = Activity.IDLE
    call: str | None = None  # ringing or busy for this call
    call_topic: str | None = None
    ring_deadline: float | None = None
    busy_since: float | None = None
    wrapup_until: float | None = None
    rest_until: float = float("-inf")  # after a missed ring (app_queue's `retry`)
    idle_since: float = 0.0  # login or end of the last wrap-up: `longest_idle` counts from here
    calls_taken: int = 0
    misses: int = 0  # consecutive missed rings

    @property
    def status(self) -> str:
        """The one-word state a wallboard shows."""
        if self.activity is not Activity.IDLE:
            return self.activity.value
        if not self.logged_in:
            return "logged_out"
        return "paused" if self.paused is not None else "ready"

    def can_ring(self, now: float) -> bool:
        return (
            self.logged_in
            and self.paused is None
            and self.registered
            and not self.device_busy
            and self.activity is Activity.IDLE
            and now >= self.rest_until
        )


@dataclass(frozen=True)
class QueueState:
    config: AgentsConfig
    now: float = 0.0
    callers: Mapping[str, Caller] = field(default_factory=FrozenMap)
    agents: Mapping[str, AgentState] = field(default_factory=FrozenMap)
    rr_cursor: Mapping[str, str] = field(default_factory=FrozenMap)  # topic → agent rung last
    handle_times: Mapping[str, tuple[float, ...]] = field(default_factory=FrozenMap)
    seq: int = 0
    timer_at: float | None = None

    def line(self, topic: str) -> tuple[Caller, ...]:
        """The callers of `topic` in the order they are served (ringing ones included)."""
        return tuple(sorted((c for c in self.callers.values() if c.topic == topic), key=_order))

    def position(self, call: str) -> int | None:
        caller = self.callers.get(call)
        if caller is None:
            return None
        return self.line(caller.topic).index(caller) + 1


Step = tuple[QueueState, tuple[Effect, ...]]


def new_queue(config: AgentsConfig, now: float = 0.0) -> QueueState:
    """An empty queue; every configured agent starts logged out and unregistered."""
    agents = {a.id: AgentState(a.id, idle_since=now) for a in config.agents}
    return QueueState(config, now=now, agents=FrozenMap(agents))


def step(state: QueueState, event: Event) -> Step:
    """Apply one event, then due timers, then hand free agents to waiting callers."""
    if isinstance(event, ConfigChanged):
        state = replace(state, config=event.config)
    run = _Run(state, max(state.now, event.now))
    run.apply(event)
    run.expire()
    run.dispatch()
    run.announce()
    return run.finish()


def _order(caller: Caller) -> tuple[int, float, int]:
    return caller.order


# --- The step, on private copies ---------------------------------------------------------------


class _Run:
    """One step: mutable copies of the state's maps, frozen again by `finish`.

    Mutating copies keeps the rules readable; the input state is never touched.
    """

    def __init__(self, state: QueueState, now: float) -> None:
        self.state = state
        self.config = state.config
        self.now = now
        self.callers = dict(state.callers)
        self.agents = dict(state.agents)
        self.rr_cursor = dict(state.rr_cursor)
        self.handle_times = dict(state.handle_times)
        self.seq = state.seq
        self.effects: list[Effect] = []
        self._rules: dict[str, QueueRules] = {}

    def rules(self, topic: str) -> QueueRules:
        # Asked for per caller per step; the config's own cache sits behind pydantic's slow
        # private-attribute lookup, so keep one per step here (about 10× with 300 waiting).
        rules = self._rules.get(topic)
        if rules is None:
            rules = self._rules[topic] = self.config.rules(topic)
        return rules

    # --- events ----------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        match event:
            case CallerJoined():
                self.join(event)
            case CallerLeft(call=call, reason=reason):
                caller = self.callers.get(call)
                if caller is not None:
                    self.stop_ring(caller)
                    outcome: Outcome = "callback" if reason == "callback" else "abandoned"
                    self.finished(self.callers.pop(call), outcome)
            case Tick():
                pass
            case ConfigChanged():
                self.reconfigure()
            case _:
                agent = self.agents.get(event.agent)
                if agent is not None:
                    self.agent_event(agent, event)

    def reconfigure(self) -> None:
        wanted = self.config.by_id
        for agent in sorted(self.agents.values(), key=lambda a: a.id):
            if agent.id not in wanted:
                self.withdraw(agent)
                del self.agents[agent.id]
        for agent_id in wanted:
            if agent_id not in self.agents:
                self.agents[agent_id] = AgentState(agent_id, idle_since=self.now)

    def join(self, event: CallerJoined) -> None:
        if event.call in self.callers:
            return
        self.seq += 1
        caller = Caller(
            event.call,
            event.topic,
            event.client,
            event.priority,
            self.now if event.arrived is None else min(event.arrived, self.now),
            self.seq,
            event.language,
        )
        # Announce right away (after dispatch, and only if no agent rings for them yet).
        caller = self.enter(caller, event.topic)
        if caller.next_announce is not None:
            caller = replace(caller, next_announce=self.now)
        self.callers[caller.call] = caller
        self.turn_away_if_empty(caller, joining=True)

    def enter(self, caller: Caller, topic: str) -> Caller:
        rules = self.rules(topic)
        max_wait = rules.max_wait > 0 and rules.overflow is not None
        return replace(
            caller,
            topic=topic,
            entered=self.now,
            visited=(*caller.visited, topic),
            max_wait_at=self.now + rules.max_wait if max_wait else None,
            next_announce=self.now + rules.announce_every if rules.announce_every > 0 else None,
        )

    def agent_event(self, agent: AgentState, event: Event) -> None:
        match event:
            case AgentLoggedIn():
                if not agent.logged_in:
                    # Idle time counts from the log-in, so a fresh agent is not first in line
                    # for `longest_idle` ahead of colleagues who have been waiting.
                    idle_since = self.now if agent.activity is Activity.IDLE else agent.idle_since
                    self.put(
                        replace(agent, logged_in=True, paused=None, misses=0, idle_since=idle_since)
                    )
            case AgentLoggedOut():
                self.withdraw(agent)
                self.put(replace(self.agents[agent.id], logged_in=False, paused=None))
            case AgentPaused(reason=reason):
                if agent.logged_in:
                    self.withdraw(agent)
                    self.put(replace(self.agents[agent.id], paused=reason))
            case AgentReady():
                if agent.logged_in:
                    self.put(replace(agent, paused=None, misses=0))
            case AgentRegistered():
                self.put(replace(agent, registered=True))
            case AgentUnregistered():
                self.withdraw(agent)
                self.put(replace(self.agents[agent.id], registered=False))
            case DeviceBusy():
                # Our own ring may show as busy/ringing too; the adapter filters that, and a
                # running ring is not cancelled: the answer or timeout decides it.
                self.put(replace(agent, device_busy=True))
            case DeviceFree():
                self.put(replace(agent, device_busy=False))
            case RingAnswered(call=call):
                if self.is_ringing(agent, call):
                    self.answered(agent, self.callers.pop(call))
            case RingTimedOut(call=call) | RingFailed(call=call):
                if self.is_ringing(agent, call):
                    self.missed(agent, self.callers[call], cancel=False)
            case CallEnded(call=call):
                if agent.activity is Activity.BUSY and agent.call == call:
                    self.call_ended(agent)

    def is_ringing(self, agent: AgentState, call: str) -> bool:
        caller = self.callers.get(call)
        return (
            agent.activity is Activity.RINGING
            and agent.call == call
            and caller is not None
            and caller.ringing == agent.id
        )

    def put(self, agent: AgentState) -> None:
        self.agents[agent.id] = agent

    # --- transitions -----------------------------------------------------------------------

    def withdraw(self, agent: AgentState) -> None:
        """The agent can no longer take the call it rings for: the caller goes back in line.

        Not a miss: the agent did not let it ring out, they went away (pause, log-out).
        """
        if agent.activity is Activity.RINGING and agent.call in self.callers:
            self.stop_ring(self.callers[agent.call])

    def stop_ring(self, caller: Caller) -> None:
        if caller.ringing is None:
            return
        agent = self.agents[caller.ringing]
        self.effects.append(CancelRing(agent.id, caller.call))
        self.put(self.idle(agent))
        self.callers[caller.call] = replace(caller, ringing=None)

    def idle(self, agent: AgentState) -> AgentState:
        return replace(
            agent,
            activity=Activity.IDLE,
            call=None,
            call_topic=None,
            ring_deadline=None,
            busy_since=None,
            wrapup_until=None,
        )

    def ring(self, caller: Caller, agent: AgentState) -> None:
        timeout = self.rules(caller.topic).ring_timeout
        self.put(
            replace(
                agent,
                activity=Activity.RINGING,
                call=caller.call,
                call_topic=caller.topic,
                ring_deadline=self.now + timeout + RING_GRACE,
            )
        )
        self.callers[caller.call] = replace(caller, ringing=agent.id)
        self.rr_cursor[caller.topic] = agent.id
        self.effects.append(RingAgent(agent.id, caller.call, timeout))

    def answered(self, agent: AgentState, caller: Caller) -> None:
        self.put(
            replace(
                agent,
                activity=Activity.BUSY,
                ring_deadline=None,
                busy_since=self.now,
                calls_taken=agent.calls_taken + 1,
                misses=0,
            )
        )
        self.effects.append(Connect(agent.id, caller.call))
        self.finished(caller, "connected", agent.id)

    def missed(self, agent: AgentState, caller: Caller, *, cancel: bool) -> None:
        rules = self.rules(caller.topic)
        if cancel:
            self.effects.append(CancelRing(agent.id, caller.call))
        self.callers[caller.call] = replace(
            caller, ringing=None, missed_by=caller.missed_by | {agent.id}
        )
        misses = agent.misses + 1
        rested = replace(self.idle(agent), misses=misses, rest_until=self.now + rules.retry)
        if rules.autopause_after and misses >= rules.autopause_after and agent.logged_in:
            rested = replace(rested, paused=AUTOPAUSE, misses=0)
            self.effects.append(AutoPause(agent.id))
        self.put(rested)

    def call_ended(self, agent: AgentState) -> None:
        topic = agent.call_topic or ""
        rules = self.rules(topic)
        talk = self.now - (agent.busy_since if agent.busy_since is not None else self.now)
        recent = (*self.handle_times.get(topic, ()), talk + rules.wrapup)
        self.handle_times[topic] = recent[-HANDLE_TIME_WINDOW:]
        ended = self.idle(agent)
        if rules.wrapup > 0:
            ended = replace(ended, activity=Activity.WRAPUP, wrapup_until=self.now + rules.wrapup)
        else:
            ended = replace(ended, idle_since=self.now)
        self.put(ended)

    def finished(self, caller: Caller, outcome: Outcome, agent: str | None = None) -> None:
        waited = self.now - caller.arrived
        self.effects.append(CallFinished(caller.call, caller.topic, outcome, waited, agent))

    # --- timers ----------------------------------------------------------------------------

    def expire(self) -> None:
        """Everything due by `now`: ring deadlines, wrap-up ends, max waits."""
        for agent in sorted(self.agents.values(), key=lambda a: a.id):
            if (
                agent.activity is Activity.RINGING
                and agent.ring_deadline is not None
                and agent.ring_deadline <= self.now
                and agent.call in self.callers
            ):
                self.missed(agent, self.callers[agent.call], cancel=True)
            elif (
                agent.activity is Activity.WRAPUP
                and agent.wrapup_until is not None
                and agent.wrapup_until <= self.now
            ):
                self.put(replace(self.idle(agent), idle_since=agent.wrapup_until))
        # Log-ins and registrations do not change in this loop: one answer per client/topic.
        staffed: dict[tuple[str, str], bool] = {}
        for caller in sorted(self.callers.values(), key=_order):
            if caller.max_wait_at is not None and caller.max_wait_at <= self.now:
                self.overflow(caller, "max_wait")
            else:
                self.turn_away_if_empty(caller, joining=False, staffed=staffed)

    def staffed(self, caller: Caller) -> bool:
        """Whether anyone could ever answer this caller in their current queue."""
        profiles = self.config.by_id
        return any(
            a.logged_in
            and a.registered
            and profiles[a.id].level_for(caller.client, caller.topic) is not None
            for a in self.agents.values()
        )

    def turn_away_if_empty(
        self, caller: Caller, *, joining: bool, staffed: dict[tuple[str, str], bool] | None = None
    ) -> None:
        rules = self.rules(caller.topic)
        leaves = not rules.join_empty if joining else rules.leave_when_empty
        if not leaves or rules.overflow is None:
            return
        staffed = {} if staffed is None else staffed
        key = (caller.client, caller.topic)
        if key not in staffed:
            staffed[key] = self.staffed(caller)
        if not staffed[key]:
            self.overflow(caller, "empty")

    def overflow(self, caller: Caller, reason: Literal["max_wait", "empty"]) -> None:
        action = self.rules(caller.topic).overflow
        if action is None:  # pragma: no cover - `enter` sets no max wait without overflow
            return
        if isinstance(action, OverflowQueue) and action.queue in caller.visited:
            # A loop in the config: stay here rather than bounce between queues forever.
            self.callers[caller.call] = replace(caller, max_wait_at=None)
            return
        self.stop_ring(caller)
        caller = self.callers[caller.call]
        self.effects.append(Overflow(caller.call, action, reason))
        if isinstance(action, OverflowQueue):
            moved = self.enter(caller, action.queue)
            # Keep the announcement rhythm the caller is used to, not the new queue's start.
            moved = replace(moved, next_announce=caller.next_announce)
            self.callers[caller.call] = moved
            self.turn_away_if_empty(moved, joining=True)  # bounded: `visited` grows each time
            return
        del self.callers[caller.call]
        self.finished(caller, "overflow")

    # --- matching callers and agents ---------------------------------------------------------

    def dispatch(self) -> None:
        """Give each waiting caller, best first across all topics, the best free agent.

        Agents only become unavailable in this loop, so one pass is enough: a caller passed
        over (no free agent with their skill) cannot gain one later in the same pass.
        """
        free = {a.id: a for a in self.agents.values() if a.can_ring(self.now)}
        if not free:
            return
        for caller in sorted(self.callers.values(), key=_order):
            if caller.ringing is not None:
                continue
            agent = self.best_agent(caller, free.values())
            if agent is not None:
                self.ring(caller, agent)
                del free[agent.id]
                if not free:
                    return

    def best_agent(self, caller: Caller, free: Iterable[AgentState]) -> AgentState | None:
        profiles = self.config.by_id
        strategy = self.rules(caller.topic).strategy
        cursor = self.rr_cursor.get(caller.topic)
        best: tuple[object, ...] | None = None
        chosen: AgentState | None = None
        for agent in free:
            level = profiles[agent.id].level_for(caller.client, caller.topic)
            if level is None:
                continue
            if strategy == "round_robin":
                # Next after the one rung last (app_queue's rrmemory), wrapping around.
                key: tuple[object, ...] = (level, cursor is not None and agent.id <= cursor)
            elif strategy == "fewest_calls":
                key = (level, agent.calls_taken, agent.idle_since)
            else:
                key = (level, agent.idle_since)
            # Agents who already let this caller ring out come last, as app_queue tries every
            # member before it starts over.
            key = (agent.id in caller.missed_by, *key, agent.id)
            if best is None or key < best:  # type: ignore[operator]
                best, chosen = key, agent
        return chosen

    # --- announcements and the timer ---------------------------------------------------------

    def announce(self) -> None:
        for caller in sorted(self.callers.values(), key=_order):
            if caller.next_announce is None or caller.next_announce > self.now:
                continue
            interval = self.rules(caller.topic).announce_every
            following = self.now + interval if interval > 0 else None
            self.callers[caller.call] = replace(caller, next_announce=following)
            if caller.ringing is None:
                self.effects.append(self.announcement(caller))

    def announcement(self, caller: Caller) -> AnnounceToCaller:
        line = sorted((c for c in self.callers.values() if c.topic == caller.topic), key=_order)
        position = [c.call for c in line].index(caller.call) + 1
        profiles = self.config.by_id
        serving = [
            a
            for a in self.agents.values()
            if a.logged_in
            and a.paused is None
            and profiles[a.id].level_for(caller.client, caller.topic) is not None
        ]
        estimate = expected_wait(
            position,
            len(serving),
            self.handle_times.get(caller.topic, ()),
            free=sum(1 for a in serving if a.can_ring(self.now)),
        )
        return AnnounceToCaller(caller.call, position, whole_seconds(estimate))

    def next_deadline(self) -> tuple[float, str] | None:
        deadlines: list[tuple[float, str]] = []
        for agent in self.agents.values():
            if agent.activity is Activity.RINGING and agent.ring_deadline is not None:
                deadlines.append((agent.ring_deadline, f"ring {agent.id}"))
            elif agent.activity is Activity.WRAPUP and agent.wrapup_until is not None:
                deadlines.append((agent.wrapup_until, f"wrapup {agent.id}"))
            elif agent.rest_until > self.now and agent.activity is Activity.IDLE:
                deadlines.append((agent.rest_until, f"retry {agent.id}"))
        for caller in self.callers.values():
            if caller.max_wait_at is not None:
                deadlines.append((caller.max_wait_at, f"max_wait {caller.call}"))
            if caller.next_announce is not None:
                deadlines.append((caller.next_announce, f"announce {caller.call}"))
        future = [d for d in deadlines if d[0] > self.now]
        return min(future) if future else None

    def finish(self) -> Step:
        timer_at = self.state.timer_at
        deadline = self.next_deadline()
        if deadline is not None and deadline[0] != timer_at:
            self.effects.append(StartTimer(*deadline))
        timer_at = deadline[0] if deadline is not None else None
        state = QueueState(
            self.config,
            now=self.now,
            callers=FrozenMap(self.callers),
            agents=FrozenMap(self.agents),
            rr_cursor=FrozenMap(self.rr_cursor),
            handle_times=FrozenMap(self.handle_times),
            seq=self.seq,
            timer_at=timer_at,
        )
        return state, tuple(self.effects)
