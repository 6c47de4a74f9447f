"""Wallboard views on states the real queue engine produced: table tests and one property."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.config.agents import AgentsConfig
from stadtruf.core.queue import (
    AgentLoggedIn,
    AgentPaused,
    AgentRegistered,
    CallEnded,
    CallerJoined,
    CallerLeft,
    DeviceBusy,
    Event,
    QueueState,
    RingAnswered,
    Tick,
    new_queue,
    step,
)
from stadtruf.core.wallboard import (
    COUNTED_STATUSES,
    agent_views,
    elapsed_s,
    queue_topics,
    queue_views,
    remaining_s,
)

CONFIG = AgentsConfig.model_validate(
    {
        "defaults": {"announce_every": 0, "wrapup": 30, "retry": 0, "autopause_after": 0},
        "queues": {"kfz": {}, "vermittlung": {"wrapup": 5}},
        "agents": [
            {"id": "agent-102", "name": "Mehmet Yılmaz", "skills": [{"topic": "*", "level": 3}]},
            {"id": "agent-101", "name": "Anna Schmidt", "skills": [{"topic": "kfz"}]},
            {"id": "agent-103", "name": "Jana Nowak", "skills": [{"topic": "abfall"}]},
        ],
    }
)


def run(*events: Event) -> QueueState:
    state = new_queue(CONFIG)
    for event in events:
        state, _ = step(state, event)
    return state


def online(agent: str, now: float = 0.0) -> tuple[Event, ...]:
    return AgentLoggedIn(agent, now=now), AgentRegistered(agent, now=now)


ANNA = "agent-101"
BUSY_ANNA = (
    *online(ANNA, now=10),
    CallerJoined("c1", "kfz", "bottrop", now=20),
    RingAnswered(ANNA, "c1", now=25),
)


def anna(state: QueueState, now: float) -> dict[str, Any]:
    return next(v for v in agent_views(state, now) if v["id"] == ANNA)


@pytest.mark.parametrize(
    ("events", "now", "expected"),
    [
        pytest.param(
            (),
            100,
            {"status": "logged_out", "registered": False, "idle_for_s": None, "call": None},
            id="fresh",
        ),
        pytest.param(
            online(ANNA, now=10), 25.9, {"status": "ready", "idle_for_s": 15}, id="ready-idle"
        ),
        pytest.param(
            (AgentLoggedIn(ANNA, now=10),),
            12,
            {"status": "ready", "registered": False, "idle_for_s": 2},
            id="ready-unregistered",
        ),
        pytest.param(
            (*online(ANNA, now=10), DeviceBusy(ANNA, now=11)),
            12,
            {"status": "ready", "device_busy": True},
            id="device-busy",
        ),
        pytest.param(
            online(ANNA, now=10), 5, {"status": "ready", "idle_for_s": 0}, id="clock-behind"
        ),
        pytest.param(
            (*online(ANNA, now=10), AgentPaused(ANNA, "Mittag", now=30)),
            40,
            {"status": "paused", "pause_reason": "Mittag", "idle_for_s": None},
            id="paused",
        ),
        pytest.param(
            (*online(ANNA, now=10), CallerJoined("c1", "kfz", "bottrop", now=20)),
            21,
            {"status": "ringing", "call": "c1", "topic": "kfz", "calls_taken": 0},
            id="ringing",
        ),
        pytest.param(
            BUSY_ANNA,
            86.5,
            {"status": "busy", "call": "c1", "busy_for_s": 61, "calls_taken": 1},
            id="busy",
        ),
        pytest.param(
            (*BUSY_ANNA, AgentPaused(ANNA, "Pause", now=30)),
            31,
            {"status": "busy", "pause_reason": "Pause"},
            id="paused-during-call",
        ),
        pytest.param(
            (*BUSY_ANNA, CallEnded(ANNA, "c1", now=100)),
            110.2,
            {"status": "wrapup", "wrapup_left_s": 20, "busy_for_s": None, "call": None},
            id="wrapup-rounds-up",
        ),
        pytest.param(
            (*BUSY_ANNA, CallEnded(ANNA, "c1", now=100), Tick(now=130)),
            135,
            {"status": "ready", "idle_for_s": 5, "wrapup_left_s": None, "calls_taken": 1},
            id="after-wrapup",
        ),
    ],
)
def test_agent_view(events: tuple[Event, ...], now: float, expected: dict[str, Any]) -> None:
    view = anna(run(*events), now)
    assert {key: view[key] for key in expected} == expected


def test_agent_view_has_every_key_in_every_status() -> None:
    assert anna(run(*BUSY_ANNA), 30) == {
        "id": ANNA,
        "name": "Anna Schmidt",
        "status": "busy",
        "pause_reason": None,
        "registered": True,
        "device_busy": False,
        "call": "c1",
        "topic": "kfz",
        "calls_taken": 1,
        "idle_for_s": None,
        "busy_for_s": 5,
        "wrapup_left_s": None,
    }


def test_agents_in_the_order_of_the_agents_file() -> None:
    views = agent_views(run(), 0)
    assert [(v["id"], v["name"]) for v in views] == [
        ("agent-102", "Mehmet Yılmaz"),
        ("agent-101", "Anna Schmidt"),
        ("agent-103", "Jana Nowak"),
    ]


@pytest.mark.parametrize(
    ("since", "now", "elapsed"),
    [(None, 5, None), (0, 5.99, 5), (10, 5, 0), (1.5, 2.5, 1)],
)
def test_elapsed_rounds_down(since: float | None, now: float, elapsed: int | None) -> None:
    assert elapsed_s(since, now) == elapsed


@pytest.mark.parametrize(
    ("until", "now", "left"),
    [(None, 5, None), (10, 9.01, 1), (10, 10, 0), (10, 12, 0)],
)
def test_remaining_rounds_up(until: float | None, now: float, left: int | None) -> None:
    assert remaining_s(until, now) == left


@pytest.mark.parametrize(
    ("events", "topics"),
    [
        # kfz, vermittlung configured; abfall and kfz named in skills; `*` names no topic.
        ((), ["abfall", "kfz", "vermittlung"]),
        (
            (CallerJoined("c9", "elterngeld", "duisburg", now=1),),
            ["abfall", "elterngeld", "kfz", "vermittlung"],
        ),
    ],
)
def test_queue_topics(events: tuple[Event, ...], topics: list[str]) -> None:
    assert queue_topics(run(*events)) == topics
    assert [q["topic"] for q in queue_views(run(*events), 2)] == topics


def _queue(state: QueueState, topic: str, now: float) -> dict[str, Any]:
    return next(q for q in queue_views(state, now) if q["topic"] == topic)


def test_line_in_serving_order_with_positions_waits_and_ringing_agent() -> None:
    state = run(
        *online(ANNA, now=0),
        CallerJoined("c1", "kfz", "duisburg", now=10),  # rings Anna at once
        CallerJoined("c2", "kfz", "bottrop", now=12),
        CallerJoined("c3", "kfz", "bottrop", now=14, priority=5, language="en"),
    )
    assert _queue(state, "kfz", 20) == {
        "topic": "kfz",
        "waiting": 3,
        "callers": [
            {
                "call": "c3",
                "client": "bottrop",
                "priority": 5,
                "language": "en",
                "waited_s": 6,
                "position": 1,
                "ringing": None,
            },
            {
                "call": "c1",
                "client": "duisburg",
                "priority": 0,
                "language": "de",
                "waited_s": 10,
                "position": 2,
                "ringing": ANNA,
            },
            {
                "call": "c2",
                "client": "bottrop",
                "priority": 0,
                "language": "de",
                "waited_s": 8,
                "position": 3,
                "ringing": None,
            },
        ],
        "agents": {
            "ready": 0,
            "ringing": 1,
            "busy": 0,
            "wrapup": 0,
            "paused": 0,
            "available": 0,
        },
    }


@pytest.mark.parametrize(
    ("events", "topic", "counts"),
    [
        pytest.param((), "kfz", {"ready": 0, "available": 0}, id="nobody-logged-in"),
        pytest.param(
            (*online(ANNA), *online("agent-102")),
            "kfz",
            {"ready": 2, "available": 2},
            id="both-serve-kfz",
        ),
        pytest.param(
            (*online(ANNA), *online("agent-102")),
            "vermittlung",
            {"ready": 1, "available": 1},
            id="only-the-wildcard-agent",
        ),
        pytest.param(
            (*online(ANNA), *online("agent-103")),
            "abfall",
            {"ready": 1, "available": 1},
            id="anna-not-counted-for-abfall",
        ),
        pytest.param(
            (AgentLoggedIn(ANNA, now=0), *online("agent-102"), DeviceBusy("agent-102", now=1)),
            "kfz",
            {"ready": 2, "available": 0},
            id="ready-but-not-ringable",
        ),
        pytest.param(
            (*online("agent-102"), *BUSY_ANNA),
            "kfz",
            {"ready": 1, "busy": 1, "paused": 0, "available": 1},
            id="busy-and-ready",
        ),
        pytest.param(
            (*online("agent-102"), AgentPaused("agent-102", "Schulung", now=1)),
            "kfz",
            {"paused": 1, "ready": 0, "available": 0},
            id="paused",
        ),
        pytest.param(
            (*BUSY_ANNA, CallEnded(ANNA, "c1", now=60)),
            "kfz",
            {"wrapup": 1, "ready": 0},
            id="wrapup",
        ),
    ],
)
def test_agent_counts_per_queue(
    events: tuple[Event, ...], topic: str, counts: dict[str, int]
) -> None:
    agents = _queue(run(*events), topic, 61)["agents"]
    assert {key: agents[key] for key in counts} == counts


def test_caller_who_left_is_gone_from_the_line() -> None:
    state = run(CallerJoined("c1", "kfz", "x", now=1), CallerLeft("c1", now=2))
    assert _queue(state, "kfz", 3)["callers"] == []


# --- Any state the engine reaches: plain JSON, consistent counts -----------------------------

AGENT_IDS = [a.id for a in CONFIG.agents]
TOPICS = ["kfz", "abfall", "vermittlung", "elterngeld"]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    now = 0.0
    for i in range(draw(st.integers(0, 25))):
        now += draw(st.floats(0, 40, allow_nan=False))
        agent = draw(st.sampled_from(AGENT_IDS))
        kind = draw(st.integers(0, 5))
        if kind == 0:
            events += [AgentLoggedIn(agent, now=now), AgentRegistered(agent, now=now)]
        elif kind == 1:
            topic = draw(st.sampled_from(TOPICS))
            events.append(CallerJoined(f"c{i}", topic, "duisburg", now=now))
        elif kind == 2:
            events.append(RingAnswered(agent, f"c{draw(st.integers(0, i))}", now=now))
        elif kind == 3:
            events.append(CallEnded(agent, f"c{draw(st.integers(0, i))}", now=now))
        elif kind == 4:
            events.append(AgentPaused(agent, "Pause", now=now))
        else:
            events.append(Tick(now=now))
    return events


@settings(max_examples=150, deadline=None)
@given(histories(), st.floats(-10, 100, allow_nan=False))
def test_views_are_plain_json_and_add_up(events: list[Event], later: float) -> None:
    state = run(*events)
    now = state.now + later
    agents, queues = agent_views(state, now), queue_views(state, now)
    assert json.loads(json.dumps(agents)) == agents
    assert json.loads(json.dumps(queues)) == queues
    assert {a["id"] for a in agents} == set(AGENT_IDS)
    for view in agents:
        for key in ("idle_for_s", "busy_for_s", "wrapup_left_s"):
            assert view[key] is None or view[key] >= 0
    for queue in queues:
        assert [c["position"] for c in queue["callers"]] == list(range(1, queue["waiting"] + 1))
        counted = sum(queue["agents"][s] for s in COUNTED_STATUSES)
        assert queue["agents"]["available"] <= queue["agents"]["ready"] <= counted
        assert counted <= len(AGENT_IDS)
