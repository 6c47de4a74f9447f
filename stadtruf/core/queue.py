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

Modules: the events and effects in `queue_events`, the state in `queue_state`, the rules of a
step in `queue_step` (with the choices that need no step in `queue_choice`). Import them from
here.

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

from dataclasses import replace

from stadtruf.config.agents import AgentsConfig
from stadtruf.config.model import FrozenMap
from stadtruf.core.queue_events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    AgentRegistered,
    AgentUnregistered,
    AnnounceToCaller,
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
from stadtruf.core.queue_state import Activity, AgentState, Caller, QueueState, Step
from stadtruf.core.queue_step import AUTOPAUSE, HANDLE_TIME_WINDOW, RING_GRACE, Run


def new_queue(config: AgentsConfig, now: float = 0.0) -> QueueState:
    """An empty queue; every configured agent starts logged out and unregistered."""
    agents = {a.id: AgentState(a.id, idle_since=now) for a in config.agents}
    return QueueState(config, now=now, agents=FrozenMap(agents))


def step(state: QueueState, event: Event) -> Step:
    """Apply one event, then due timers, then hand free agents to waiting callers."""
    if isinstance(event, ConfigChanged):
        state = replace(state, config=event.config)
    run = Run(state, max(state.now, event.now))
    run.apply(event)
    run.expire()
    run.dispatch()
    run.announce()
    return run.finish()


__all__ = [
    "AUTOPAUSE",
    "HANDLE_TIME_WINDOW",
    "RING_GRACE",
    "Activity",
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentPaused",
    "AgentReady",
    "AgentRegistered",
    "AgentState",
    "AgentUnregistered",
    "AnnounceToCaller",
    "AutoPause",
    "CallEnded",
    "CallFinished",
    "Caller",
    "CallerJoined",
    "CallerLeft",
    "CancelRing",
    "ConfigChanged",
    "Connect",
    "DeviceBusy",
    "DeviceFree",
    "Effect",
    "Event",
    "Outcome",
    "Overflow",
    "QueueState",
    "RingAgent",
    "RingAnswered",
    "RingFailed",
    "RingTimedOut",
    "StartTimer",
    "Step",
    "Tick",
    "new_queue",
    "step",
]
