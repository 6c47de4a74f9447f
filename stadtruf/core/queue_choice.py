"""The queue engine's choices that need no step: which agent, what to announce, when to wake.

Pure functions over the engine's state; `stadtruf.core.queue_step` calls them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stadtruf.config.agents import Agent, AgentsConfig, Strategy
from stadtruf.core.queue_events import AnnounceToCaller
from stadtruf.core.queue_state import Activity, AgentState, Caller, by_order
from stadtruf.core.service_level import expected_wait, whole_seconds


def best_agent(
    caller: Caller,
    free: Iterable[AgentState],
    profiles: Mapping[str, Agent],
    strategy: Strategy,
    cursor: str | None,
) -> AgentState | None:
    """The free agent to ring for `caller`: lowest skill level first, then the strategy.

    `cursor` is the agent rung last in the caller's queue (for `round_robin`).
    """
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
        if best is None or key < best:
            best, chosen = key, agent
    return chosen


def announcement(
    caller: Caller,
    callers: Mapping[str, Caller],
    agents: Mapping[str, AgentState],
    config: AgentsConfig,
    handle_times: Mapping[str, tuple[float, ...]],
    now: float,
) -> AnnounceToCaller:
    """The caller's place in their line and the expected wait, from recent handle times."""
    line = sorted((c for c in callers.values() if c.topic == caller.topic), key=by_order)
    position = [c.call for c in line].index(caller.call) + 1
    profiles = config.by_id
    serving = [
        a
        for a in agents.values()
        if a.logged_in
        and a.paused is None
        and profiles[a.id].level_for(caller.client, caller.topic) is not None
    ]
    estimate = expected_wait(
        position,
        len(serving),
        handle_times.get(caller.topic, ()),
        free=sum(1 for a in serving if a.can_ring(now)),
    )
    return AnnounceToCaller(caller.call, position, whole_seconds(estimate))


def next_deadline(
    agents: Iterable[AgentState], callers: Iterable[Caller], now: float
) -> tuple[float, str] | None:
    """The earliest thing due after `now` (the one timer), with why, or None."""
    deadlines: list[tuple[float, str]] = []
    for agent in agents:
        if agent.activity is Activity.RINGING and agent.ring_deadline is not None:
            deadlines.append((agent.ring_deadline, f"ring {agent.id}"))
        elif agent.activity is Activity.WRAPUP and agent.wrapup_until is not None:
            deadlines.append((agent.wrapup_until, f"wrapup {agent.id}"))
        elif agent.rest_until > now and agent.activity is Activity.IDLE:
            deadlines.append((agent.rest_until, f"retry {agent.id}"))
    for caller in callers:
        if caller.max_wait_at is not None:
            deadlines.append((caller.max_wait_at, f"max_wait {caller.call}"))
        if caller.next_announce is not None:
            deadlines.append((caller.next_announce, f"announce {caller.call}"))
    future = [d for d in deadlines if d[0] > now]
    return min(future) if future else None
