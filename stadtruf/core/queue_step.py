"""The queue engine's rules, applied in one step on private copies of the state.

`stadtruf.core.queue.step` is the entry point; the rules are listed in its docstring.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from stadtruf.config.agents import OverflowQueue, QueueRules
from stadtruf.config.model import FrozenMap
from stadtruf.core.queue_choice import announcement, best_agent, next_deadline
from stadtruf.core.queue_events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    AgentRegistered,
    AgentUnregistered,
    AutoPause,
    CallEnded,
    CallerJoined,
    CallerLeft,
    CallFinished,
    CancelRing,
    ConfigChanged,
    Connect,
    DeviceBusy,
    DeviceFree,
    Effect,
    Event,
    Outcome,
    Overflow,
    RingAgent,
    RingAnswered,
    RingFailed,
    RingTimedOut,
    StartTimer,
    Tick,
)
from stadtruf.core.queue_state import Activity, AgentState, Caller, QueueState, Step, by_order

# The adapter normally reports RingTimedOut itself; the engine's own deadline is a safety net
# against a lost event, so it gives the adapter this much head start.
RING_GRACE = 2.0
# Handle times remembered per topic for the expected-wait estimate.
HANDLE_TIME_WINDOW = 20
AUTOPAUSE = "autopause"


class Run:
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
        for caller in sorted(self.callers.values(), key=by_order):
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
        for caller in sorted(self.callers.values(), key=by_order):
            if caller.ringing is not None:
                continue
            agent = best_agent(
                caller,
                free.values(),
                self.config.by_id,
                self.rules(caller.topic).strategy,
                self.rr_cursor.get(caller.topic),
            )
            if agent is not None:
                self.ring(caller, agent)
                del free[agent.id]
                if not free:
                    return

    # --- announcements and the timer ---------------------------------------------------------

    def announce(self) -> None:
        for caller in sorted(self.callers.values(), key=by_order):
            if caller.next_announce is None or caller.next_announce > self.now:
                continue
            interval = self.rules(caller.topic).announce_every
            following = self.now + interval if interval > 0 else None
            self.callers[caller.call] = replace(caller, next_announce=following)
            if caller.ringing is None:
                self.effects.append(
                    announcement(
                        caller, self.callers, self.agents, self.config, self.handle_times, self.now
                    )
                )

    def finish(self) -> Step:
        timer_at = self.state.timer_at
        deadline = next_deadline(self.agents.values(), self.callers.values(), self.now)
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
