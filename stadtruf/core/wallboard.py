"""What a wallboard or an agent's screen shows: the queue engine's state as plain JSON values.

Pure: `QueueState` in, lists of dicts (str, int, bool, None, lists, dicts) out. `now` is a
reading of the clock the engine's events use; it is passed in rather than taken from
`state.now`, because the engine only advances its clock on events and a wallboard asks in
between. Durations are whole seconds: elapsed times round down, remaining times round up (an
agent shown with 0 s of wrap-up left is ready).

Every view has the same keys whatever the status; a value that means nothing in that status
(the idle time of a busy agent) is None, so a client needs no per-status key checks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from stadtruf.config.agents import ANY, Agent
from stadtruf.core.queue import AgentState, Caller, QueueState

# Statuses counted per queue; `logged_out` agents are not part of a queue's staffing.
COUNTED_STATUSES = ("ready", "ringing", "busy", "wrapup", "paused")


def elapsed_s(since: float | None, now: float) -> int | None:
    """Whole seconds from `since` to `now` (never negative); None without a start."""
    if since is None:
        return None
    return max(0, math.floor(now - since))


def remaining_s(until: float | None, now: float) -> int | None:
    """Whole seconds from `now` until `until`, rounded up (never negative)."""
    if until is None:
        return None
    return max(0, math.ceil(until - now))


def agent_view(state: QueueState, agent: AgentState, now: float) -> dict[str, Any]:
    """One agent as the API and the wallboard show them."""
    profile = state.config.by_id.get(agent.id)
    status = agent.status
    return {
        "id": agent.id,
        "name": profile.name if profile is not None else agent.id,
        "status": status,
        # Set during a call too: the pause starts when the call and wrap-up are over.
        "pause_reason": agent.paused,
        "registered": agent.registered,
        "device_busy": agent.device_busy,
        "call": agent.call,
        "topic": agent.call_topic,
        "calls_taken": agent.calls_taken,
        "idle_for_s": elapsed_s(agent.idle_since, now) if status == "ready" else None,
        "busy_for_s": elapsed_s(agent.busy_since, now) if status == "busy" else None,
        "wrapup_left_s": remaining_s(agent.wrapup_until, now) if status == "wrapup" else None,
    }


def agent_views(state: QueueState, now: float) -> list[dict[str, Any]]:
    """Every agent, in the order of the agents file (the order the admin chose)."""
    return [agent_view(state, agent, now) for agent in _agents_in_config_order(state)]


def serves_topic(profile: Agent, topic: str) -> bool:
    """Whether any of the agent's skills covers `topic` (for some client)."""
    return any(skill.topic in (ANY, topic) for skill in profile.skills)


def queue_topics(state: QueueState) -> list[str]:
    """Topics worth a line on the wallboard: configured, waited in, or named in a skill.

    A `"*"` skill names no topic, so a topic that only a wildcard covers shows up once a
    caller waits there.
    """
    topics = set(state.config.queues)
    topics.update(caller.topic for caller in state.callers.values())
    topics.update(
        skill.topic for agent in state.config.agents for skill in agent.skills if skill.topic != ANY
    )
    return sorted(topics)


def caller_view(caller: Caller, position: int, now: float) -> dict[str, Any]:
    return {
        "call": caller.call,
        "client": caller.client,
        "priority": caller.priority,
        "language": caller.language,
        # From the first queue joined, as `CallFinished.waited`: an overflow does not reset it.
        "waited_s": elapsed_s(caller.arrived, now),
        "position": position,
        "ringing": caller.ringing,
    }


def queue_view(state: QueueState, topic: str, now: float) -> dict[str, Any]:
    """One topic's line (served first, first) and the agents who could take its calls."""
    line = state.line(topic)
    counts = dict.fromkeys(COUNTED_STATUSES, 0)
    available = 0
    for agent in _agents_in_config_order(state):
        profile = state.config.by_id.get(agent.id)
        if profile is None or not serves_topic(profile, topic):
            continue
        if agent.status in counts:
            counts[agent.status] += 1
        # `ready` agents may still not be ringable (phone unregistered or in use, resting
        # after a miss): this is the figure that says whether the next caller rings at once.
        available += agent.can_ring(now)
    return {
        "topic": topic,
        "waiting": len(line),
        "callers": [caller_view(c, i, now) for i, c in enumerate(line, start=1)],
        "agents": {**counts, "available": available},
    }


def queue_views(state: QueueState, now: float) -> list[dict[str, Any]]:
    """Every topic from `queue_topics`, sorted by name."""
    return [queue_view(state, topic, now) for topic in queue_topics(state)]


def _agents_in_config_order(state: QueueState) -> Iterable[AgentState]:
    order = {agent.id: i for i, agent in enumerate(state.config.agents)}
    # Agents the config no longer names (cannot happen today) go last rather than vanish.
    return sorted(state.agents.values(), key=lambda a: (order.get(a.id, len(order)), a.id))
