"""Properties of the queue engine under any sequence of events, in any order and timing:

it never crashes, never rings an agent who may not be rung, never connects one agent to two
calls, never offers an agent a caller while a caller ahead in the same topic (higher priority,
or same priority and earlier) waits unrung and could take that agent, and every caller ends in
exactly one outcome: connected, overflow or abandoned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.config.agents import AgentsConfig, OverflowQueue
from stadtruf.core.queue import (
    Activity,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    AgentRegistered,
    AgentUnregistered,
    CallEnded,
    CallerJoined,
    CallerLeft,
    CallFinished,
    CancelRing,
    Connect,
    DeviceBusy,
    DeviceFree,
    Effect,
    Event,
    Overflow,
    QueueState,
    RingAgent,
    RingAnswered,
    RingFailed,
    RingTimedOut,
    StartTimer,
    Tick,
    new_queue,
    step,
)

AGENTS = ["a1", "a2", "a3"]
TOPICS = ["kfz", "pass", "abfall"]
CLIENTS = ["duisburg", "bottrop"]

CONFIG = AgentsConfig.model_validate(
    {
        "defaults": {
            "ring_timeout": 10,
            "retry": 3,
            "wrapup": 5,
            "autopause_after": 2,
            "announce_every": 20,
            "max_wait": 120,
            "overflow": {"callback": True},
        },
        "queues": {
            "kfz": {"strategy": "round_robin", "max_wait": 60, "overflow": {"queue": "pass"}},
            "pass": {"strategy": "fewest_calls", "wrapup": 0, "retry": 0, "join_empty": False},
            "abfall": {
                "max_wait": 0,
                "autopause_after": 0,
                "leave_when_empty": True,
                "overflow": {"voicemail": True},
            },
        },
        "agents": [
            {"id": "a1", "name": "A1", "skills": [{"topic": "kfz"}, {"topic": "*", "level": 5}]},
            {"id": "a2", "name": "A2", "skills": [{"client": "bottrop", "topic": "*"}]},
            {"id": "a3", "name": "A3", "skills": [{"topic": "kfz", "level": 2}, {"topic": "pass"}]},
        ],
    }
)

# --- Symbolic operations, resolved against the current state so that many of them fit ------

Op = tuple[Any, ...]
agent_ix = st.integers(0, len(AGENTS) - 1)
ops: st.SearchStrategy[Op] = st.one_of(
    st.tuples(
        st.just("join"),
        st.sampled_from(TOPICS),
        st.sampled_from(CLIENTS),
        st.integers(-1, 2),
    ),
    st.tuples(st.just("leave"), st.integers(0, 12)),
    st.tuples(
        st.sampled_from(
            ["login", "logout", "pause", "ready", "register", "unregister", "busy", "free"]
        ),
        agent_ix,
    ),
    st.tuples(st.sampled_from(["answer", "timeout", "fail", "end"]), agent_ix, st.booleans()),
    st.tuples(st.just("tick")),
)
timed_ops = st.lists(st.tuples(st.floats(-2, 40, allow_nan=False), ops), max_size=60)
# Most runs start with some agents on duty, so the interesting states come early.
on_duty = st.sets(st.sampled_from(AGENTS))


def _resolve(op: Op, state: QueueState, now: float, calls: list[str]) -> Event:
    kind = op[0]
    if kind == "join":
        call = f"c{len(calls)}"
        calls.append(call)
        return CallerJoined(call, op[1], op[2], now=now, priority=op[3])
    if kind == "leave":
        call = calls[op[1] % len(calls)] if calls else "c0"
        return CallerLeft(call, now=now)
    if kind == "tick":
        return Tick(now=now)
    agent = AGENTS[op[1]]
    simple: dict[str, Callable[[], Event]] = {
        "login": lambda: AgentLoggedIn(agent, now=now),
        "logout": lambda: AgentLoggedOut(agent, now=now),
        "pause": lambda: AgentPaused(agent, "Pause", now=now),
        "ready": lambda: AgentReady(agent, now=now),
        "register": lambda: AgentRegistered(agent, now=now),
        "unregister": lambda: AgentUnregistered(agent, now=now),
        "busy": lambda: DeviceBusy(agent, now=now),
        "free": lambda: DeviceFree(agent, now=now),
    }
    if kind in simple:
        return simple[kind]()
    # Mostly about the agent's current call; sometimes about any call (stale, out of order).
    current = state.agents[agent].call
    call = current if (op[2] and current) else (calls[-1] if calls else "c0")
    paired: dict[str, Callable[[], Event]] = {
        "answer": lambda: RingAnswered(agent, call, now=now),
        "timeout": lambda: RingTimedOut(agent, call, now=now),
        "fail": lambda: RingFailed(agent, call, now=now),
    }
    if kind in paired:
        return paired[kind]()
    return CallEnded(agent, call, now=now)


# --- The referee ---------------------------------------------------------------------------


@dataclass
class Referee:
    joined: list[str] = field(default_factory=list)
    finished: dict[str, str] = field(default_factory=dict)
    connected: set[str] = field(default_factory=set)
    overflowed: set[str] = field(default_factory=set)
    talking: dict[str, str] = field(default_factory=dict)  # agent → call

    def check(
        self, before: QueueState, event: Event, after: QueueState, fx: tuple[Effect, ...]
    ) -> None:
        now = after.now
        assert now >= before.now
        if isinstance(event, CallerJoined) and event.call not in before.callers:
            self.joined.append(event.call)
        if isinstance(event, CallEnded) and self.talking.get(event.agent) == event.call:
            del self.talking[event.agent]
        for effect in fx:
            match effect:
                case RingAgent(agent=a, call=c):
                    self.check_ring(before, event, after, fx, a, c)
                case Connect(agent=a, call=c):
                    assert a not in self.talking, f"{a} already talks to {self.talking.get(a)}"
                    assert c not in self.connected
                    self.talking[a] = c
                    self.connected.add(c)
                case Overflow(call=c, action=action):
                    if not isinstance(action, OverflowQueue):
                        self.overflowed.add(c)
                case CallFinished(call=c, outcome=outcome):
                    assert c not in self.finished, f"{c} finished twice"
                    assert c in self.joined
                    self.finished[c] = outcome
                    assert c not in after.callers
                case StartTimer(at=at):
                    assert at > now
        self.check_state(after)

    def check_ring(
        self,
        before: QueueState,
        event: Event,
        after: QueueState,
        fx: tuple[Effect, ...],
        agent_id: str,
        call: str,
    ) -> None:
        now = after.now
        agent = after.agents[agent_id]
        # The flags only events change: as they are now, they were when the engine rang.
        assert agent.logged_in and agent.paused is None
        assert agent.registered and not agent.device_busy
        assert agent.rest_until <= now
        assert agent.activity is Activity.RINGING and agent.call == call
        # And the agent was not on another call, unless that ended in this very step.
        prior = before.agents[agent_id]
        if prior.activity is Activity.BUSY:
            assert event == CallEnded(agent_id, prior.call or "", now=event.now)
            assert CONFIG.rules(prior.call_topic or "").wrapup == 0
        elif prior.activity is Activity.WRAPUP:
            assert prior.wrapup_until is not None and prior.wrapup_until <= now
        elif prior.activity is Activity.RINGING:
            ended = CancelRing(agent_id, prior.call or "") in fx or (
                isinstance(event, RingTimedOut | RingFailed)
                and (event.agent, event.call) == (agent_id, prior.call)
            )
            assert ended
        # Strict order: nobody ahead in the same line waits unrung who could take this agent.
        caller = after.callers[call]
        profile = CONFIG.by_id[agent_id]
        for other in after.callers.values():
            if other.topic != caller.topic or other.ringing is not None:
                continue
            if other.order < caller.order:
                assert profile.level_for(other.client, other.topic) is None, (
                    f"{call} offered to {agent_id} before {other.call}"
                )

    def check_state(self, state: QueueState) -> None:
        ringing_agents = {
            a.id: a.call for a in state.agents.values() if a.activity is Activity.RINGING
        }
        ringing_callers = {c.ringing: c.call for c in state.callers.values() if c.ringing}
        assert ringing_agents == ringing_callers
        for agent in state.agents.values():
            if agent.activity is Activity.BUSY:
                assert self.talking.get(agent.id) == agent.call
        assert not (set(state.callers) & set(self.finished))


def _play(timed: list[tuple[float, Op]], referee: Referee, duty: set[str]) -> QueueState:
    state = new_queue(CONFIG)
    now = 0.0
    calls: list[str] = []
    prefix = [
        (0.0, (kind, AGENTS.index(a))) for a in sorted(duty) for kind in ("login", "register")
    ]
    for dt, op in [*prefix, *timed]:
        now += dt  # a negative step: an event reported late; the engine must cope
        event = _resolve(op, state, now, calls)
        after, fx = step(state, event)
        referee.check(state, event, after, fx)
        state = after
    return state


@settings(max_examples=500, deadline=None)
@given(timed_ops, on_duty)
def test_any_event_sequence_keeps_the_rules(timed: list[tuple[float, Op]], duty: set[str]) -> None:
    referee = Referee()
    state = _play(timed, referee, duty)
    # Drain: everybody still waiting hangs up; then every caller has exactly one outcome.
    for call in list(state.callers):
        after, fx = step(state, CallerLeft(call, now=state.now + 1))
        referee.check(state, CallerLeft(call, now=state.now + 1), after, fx)
        state = after
    assert not state.callers
    assert set(referee.finished) == set(referee.joined)
    for call, outcome in referee.finished.items():
        assert (outcome == "connected") == (call in referee.connected)
        assert (outcome == "overflow") == (call in referee.overflowed)
    assert all(a.activity is not Activity.RINGING for a in state.agents.values())


@settings(max_examples=200, deadline=None)
@given(timed_ops)
def test_a_step_never_changes_its_input(timed: list[tuple[float, Op]]) -> None:
    state = new_queue(CONFIG)
    now = 0.0
    calls: list[str] = []
    for dt, op in timed:
        now += dt
        event = _resolve(op, state, now, calls)
        snapshot = (dict(state.callers), dict(state.agents), state.now, state.timer_at)
        after, _ = step(state, event)
        assert snapshot == (dict(state.callers), dict(state.agents), state.now, state.timer_at)
        state = after


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-3, 3), min_size=10, max_size=10),
    st.sampled_from(["longest_idle", "round_robin", "fewest_calls"]),
)
def test_callers_joining_at_once_are_served_by_priority_then_arrival(
    priorities: list[int], strategy: str
) -> None:
    cfg = AgentsConfig.model_validate(
        {
            "defaults": {"strategy": strategy, "wrapup": 0, "announce_every": 0},
            "agents": [{"id": "a1", "name": "A1", "skills": [{"topic": "kfz"}]}],
        }
    )
    state = new_queue(cfg)
    for i, priority in enumerate(priorities):
        state, _ = step(state, CallerJoined(f"c{i}", "kfz", "duisburg", now=1, priority=priority))
    state, _ = step(state, AgentLoggedIn("a1", now=2))
    state, _ = step(state, AgentRegistered("a1", now=2))
    served: list[str] = []
    now = 2.0
    while (call := state.agents["a1"].call) is not None:
        now += 1
        state, fx = step(state, RingAnswered("a1", call, now=now))
        served += [e.call for e in fx if isinstance(e, Connect)]
        state, _ = step(state, CallEnded("a1", call, now=now))
    expected = sorted(range(10), key=lambda i: (-priorities[i], i))
    assert served == [f"c{i}" for i in expected]
