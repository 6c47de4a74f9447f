"""The queue engine, rule by rule: table tests on small hand-made service centers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from stadtruf.config.agents import (
    AgentsConfig,
    OverflowAnnounce,
    OverflowCallback,
    OverflowQueue,
    OverflowTransfer,
    OverflowVoicemail,
)
from stadtruf.config.model import FrozenMap
from stadtruf.core.queue import (
    RING_GRACE,
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
    Overflow,
    QueueState,
    RingAgent,
    RingAnswered,
    RingFailed,
    RingTimedOut,
    StartTimer,
    Step,
    Tick,
    new_queue,
    step,
)

E = TypeVar("E", bound=Effect)
QUIET = {"announce_every": 0, "wrapup": 0, "retry": 0, "autopause_after": 0}


def config(agents: dict[str, list[dict[str, Any]]], **defaults: Any) -> AgentsConfig:
    """Agents by id with their skills; `queues=` per topic settings, the rest are defaults."""
    queues = defaults.pop("queues", {})
    return AgentsConfig.model_validate(
        {
            "defaults": {**QUIET, **defaults},
            "queues": queues,
            "agents": [
                {"id": agent_id, "name": agent_id.title(), "skills": skills}
                for agent_id, skills in agents.items()
            ],
        }
    )


def run(state: QueueState, *events: Event) -> Step:
    """`step` for each event in turn: the last state and all effects, as `step` returns them."""
    effects: list[Effect] = []
    for event in events:
        state, fx = step(state, event)
        effects += fx
    return state, tuple(effects)


def online(state: QueueState, *agent_ids: str, now: float = 0.0) -> QueueState:
    for agent_id in agent_ids:
        state, _ = run(state, AgentLoggedIn(agent_id, now=now), AgentRegistered(agent_id, now=now))
    return state


def of(effects: Sequence[Effect], kind: type[E]) -> list[E]:
    return [e for e in effects if isinstance(e, kind)]


KFZ = [{"topic": "kfz"}]
ANY = [{"topic": "*"}]


def test_module_docstring_example() -> None:
    cfg = config({"agent-101": KFZ}, ring_timeout=15, wrapup=10, announce_every=60)
    q = new_queue(cfg)
    q, fx = step(q, AgentLoggedIn("agent-101", now=0))
    assert fx == ()
    q, fx = step(q, AgentRegistered("agent-101", now=0))
    q, fx = step(q, CallerJoined("c1", topic="kfz", client="bottrop", now=5))
    assert fx == (RingAgent("agent-101", "c1", 15.0), StartTimer(22.0, "ring agent-101"))
    q, fx = step(q, RingAnswered("agent-101", "c1", now=9))
    assert fx == (
        Connect("agent-101", "c1"),
        CallFinished("c1", "kfz", "connected", 4.0, "agent-101"),
    )
    assert q.agents["agent-101"].status == "busy"
    q, fx = step(q, CallEnded("agent-101", "c1", now=200))
    assert fx == (StartTimer(210.0, "wrapup agent-101"),)
    assert q.agents["agent-101"].status == "wrapup"
    q, fx = step(q, Tick(now=210))
    assert fx == ()
    assert q.agents["agent-101"].status == "ready"


def _serve_all(q: QueueState, agent: str, now: float) -> list[str]:
    """Answer and end every ring to `agent` until nobody waits; the order of connects."""
    order: list[str] = []
    for _ in range(50):
        ringing = q.agents[agent].call
        if ringing is None:
            break
        now += 1
        q, fx = run(q, RingAnswered(agent, ringing, now=now), CallEnded(agent, ringing, now=now))
        order += [c.call for c in of(fx, Connect)]
    assert not q.callers
    return order


def test_ten_callers_at_once_served_by_priority_then_arrival() -> None:
    q = online(new_queue(config({"a1": KFZ})), "a1")
    priorities = [0, 5, 0, 10, 5, 0, 10, -1, 5, 0]
    # Same `now` for all: arrival order is the join order.
    for i, priority in enumerate(priorities):
        q, _ = step(q, CallerJoined(f"c{i}", "kfz", "duisburg", now=1, priority=priority))
    # c0 rang at once (nobody else was waiting then); the rest by priority, then arrival.
    expected = ["c0", "c3", "c6", "c1", "c4", "c8", "c2", "c5", "c9", "c7"]
    assert _serve_all(q, "a1", now=1) == expected


def test_priority_beats_arrival_when_agent_frees_up() -> None:
    q = online(new_queue(config({"a1": KFZ})), "a1")
    q, _ = run(
        q,
        CallerJoined("first", "kfz", "duisburg", now=1),
        CallerJoined("early", "kfz", "duisburg", now=2),
        CallerJoined("vip", "kfz", "duisburg", now=3, priority=5),
    )
    assert _serve_all(q, "a1", now=3) == ["first", "vip", "early"]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("longest_idle", "a1"),  # idle since 10
        ("fewest_calls", "a2"),  # 1 call taken
        ("round_robin", "a3"),  # a2 was rung last in this queue
    ],
)
def test_strategy_picks_among_equal_levels(strategy: str, expected: str) -> None:
    q = online(new_queue(config({"a1": KFZ, "a2": KFZ, "a3": KFZ}, strategy=strategy)))
    q = online(q, "a1", "a2", "a3")
    history = {"a1": (10.0, 5), "a2": (20.0, 1), "a3": (30.0, 3)}
    agents = {
        a: replace(q.agents[a], idle_since=idle, calls_taken=calls)
        for a, (idle, calls) in history.items()
    }
    q = replace(q, agents=FrozenMap(agents), rr_cursor=FrozenMap({"kfz": "a2"}), now=40)
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=40))
    assert of(fx, RingAgent) == [RingAgent(expected, "c1", 15.0)]


def test_strategy_is_per_queue() -> None:
    cfg = config({"a1": ANY, "a2": ANY}, queues={"pass": {"strategy": "round_robin"}})
    assert cfg.rules("pass").strategy == "round_robin"
    assert cfg.rules("kfz").strategy == "longest_idle"


def test_round_robin_goes_round() -> None:
    q = new_queue(config({"a1": KFZ, "a2": KFZ, "a3": KFZ}, strategy="round_robin"))
    q = online(q, "a1", "a2", "a3")
    rung: list[str] = []
    for i in range(6):
        q, fx = run(q, CallerJoined(f"c{i}", "kfz", "duisburg", now=i))
        agent = of(fx, RingAgent)[0].agent
        rung.append(agent)
        q, _ = run(q, RingAnswered(agent, f"c{i}", now=i), CallEnded(agent, f"c{i}", now=i))
    assert rung == ["a1", "a2", "a3", "a1", "a2", "a3"]


def test_lower_level_preferred_over_strategy() -> None:
    cfg = config({"generalist": [{"topic": "*", "level": 5}], "expert": [{"topic": "kfz"}]})
    q = online(new_queue(cfg), "expert", now=0)
    q = online(q, "generalist", now=-100)  # idle far longer, but a worse level
    q, fx = step(q, CallerJoined("c1", "kfz", "bottrop", now=1))
    assert of(fx, RingAgent) == [RingAgent("expert", "c1", 15.0)]


@pytest.mark.parametrize(
    "make_ineligible",
    [
        pytest.param(lambda: [AgentUnregistered("a1", now=0)], id="unregistered"),
        pytest.param(lambda: [DeviceBusy("a1", now=0)], id="device_busy"),
        pytest.param(lambda: [AgentPaused("a1", "Pause", now=0)], id="paused"),
        pytest.param(lambda: [AgentLoggedOut("a1", now=0)], id="logged_out"),
    ],
)
def test_ineligible_agents_are_never_rung(make_ineligible: Any) -> None:
    q = online(new_queue(config({"a1": KFZ})), "a1")
    q, _ = run(q, *make_ineligible())
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=1))
    assert of(fx, RingAgent) == []
    assert q.callers["c1"].ringing is None


def test_agent_ready_again_rings_the_waiting_caller() -> None:
    q = online(new_queue(config({"a1": KFZ})), "a1")
    q, _ = run(q, DeviceBusy("a1", now=0), CallerJoined("c1", "kfz", "duisburg", now=1))
    q, fx = step(q, DeviceFree("a1", now=2))
    assert of(fx, RingAgent) == [RingAgent("a1", "c1", 15.0)]


def test_caller_not_rung_without_matching_skill() -> None:
    cfg = config({"bot": [{"client": "bottrop", "topic": "*"}]})
    q = online(new_queue(cfg), "bot")
    q, fx = run(
        q,
        CallerJoined("dui", "kfz", "duisburg", now=1),  # nobody for Duisburg: passed over
        CallerJoined("bot1", "kfz", "bottrop", now=2),
    )
    assert of(fx, RingAgent) == [RingAgent("bot", "bot1", 15.0)]
    assert q.callers["dui"].ringing is None


def test_ring_timeout_goes_to_next_agent_and_missed_agent_rests() -> None:
    q = new_queue(config({"a1": KFZ, "a2": KFZ}, retry=5))
    q = online(q, "a1", now=0)
    q = online(q, "a2", now=1)
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=2))
    assert of(fx, RingAgent)[0].agent == "a1"
    q, fx = step(q, RingTimedOut("a1", "c1", now=17))
    assert fx[0] == RingAgent("a2", "c1", 15.0)
    assert q.agents["a1"].misses == 1
    q, fx = step(q, RingTimedOut("a2", "c1", now=32))
    # Both missed; a1 rests until 22 (already over), a2 until 37: a1 is rung again.
    assert q.callers["c1"].missed_by == {"a1", "a2"}
    assert of(fx, RingAgent) == [RingAgent("a1", "c1", 15.0)]
    q, fx = run(q, RingFailed("a1", "c1", now=33, cause="busy"))
    assert of(fx, RingAgent) == []
    assert q.timer_at == 37.0  # a2's rest ends first (asked for in the previous step)
    q, fx = step(q, Tick(now=37))
    assert of(fx, RingAgent) == [RingAgent("a2", "c1", 15.0)]


def test_engine_enforces_its_own_ring_deadline() -> None:
    q = online(new_queue(config({"a1": KFZ, "a2": KFZ})), "a1", "a2")
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=0))
    first = of(fx, RingAgent)[0].agent
    assert fx[-1] == StartTimer(15 + RING_GRACE, f"ring {first}")
    q, fx = step(q, Tick(now=15 + RING_GRACE))
    assert fx[0] == CancelRing(first, "c1")
    assert of(fx, RingAgent)[0].agent != first
    q, fx = step(q, RingTimedOut(first, "c1", now=18))  # the adapter's late report: stale
    assert fx == ()


def test_autopause_after_consecutive_misses() -> None:
    q = online(new_queue(config({"a1": KFZ}, autopause_after=2)), "a1")
    q, fx = run(
        q,
        CallerJoined("c1", "kfz", "duisburg", now=0),
        RingTimedOut("a1", "c1", now=15),
        RingTimedOut("a1", "c1", now=30),
    )
    assert of(fx, AutoPause) == [AutoPause("a1")]
    assert q.agents["a1"].paused == "autopause"
    assert q.agents["a1"].status == "paused"
    assert q.callers["c1"].ringing is None
    q, fx = step(q, AgentReady("a1", now=40))
    assert of(fx, RingAgent) == [RingAgent("a1", "c1", 15.0)]


def test_answer_resets_the_miss_count() -> None:
    q = online(new_queue(config({"a1": KFZ}, autopause_after=2)), "a1")
    q, _ = run(
        q,
        CallerJoined("c1", "kfz", "duisburg", now=0),
        RingTimedOut("a1", "c1", now=15),
        RingAnswered("a1", "c1", now=16),
    )
    assert q.agents["a1"].misses == 0


def test_wrapup_after_every_call() -> None:
    q = online(new_queue(config({"a1": KFZ}, wrapup=30)), "a1")
    q, _ = run(
        q,
        CallerJoined("c1", "kfz", "duisburg", now=0),
        RingAnswered("a1", "c1", now=1),
        CallerJoined("c2", "kfz", "duisburg", now=2),
    )
    q, fx = step(q, CallEnded("a1", "c1", now=100))
    assert of(fx, RingAgent) == []
    assert fx[-1] == StartTimer(130.0, "wrapup a1")
    q, fx = step(q, Tick(now=129))
    assert of(fx, RingAgent) == []
    q, fx = step(q, Tick(now=130))
    assert of(fx, RingAgent) == [RingAgent("a1", "c2", 15.0)]


@pytest.mark.parametrize(
    "action",
    [
        OverflowCallback(callback=True),
        OverflowTransfer(transfer="0203 6004-0"),
        OverflowAnnounce.model_validate({"announce": "Bitte später noch einmal."}),
        OverflowVoicemail(voicemail=True, max_length=60),
    ],
)
def test_max_wait_overflow_ends_the_call_in_the_queue(action: Any) -> None:
    cfg = config({"a1": KFZ}, max_wait=60, overflow=action.model_dump())
    q = new_queue(cfg)  # nobody logged in
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=0))
    assert fx[-1] == StartTimer(60.0, "max_wait c1")
    q, fx = step(q, Tick(now=60))
    assert fx == (Overflow("c1", action), CallFinished("c1", "kfz", "overflow", 60.0))
    assert not q.callers


def test_max_wait_cancels_a_running_ring() -> None:
    cfg = config({"a1": KFZ}, max_wait=10, overflow={"callback": True}, ring_timeout=30)
    q = online(new_queue(cfg), "a1")
    q, _ = step(q, CallerJoined("c1", "kfz", "duisburg", now=0))
    q, fx = step(q, Tick(now=10))
    assert fx[:2] == (CancelRing("a1", "c1"), Overflow("c1", OverflowCallback(callback=True)))
    assert q.agents["a1"].status == "ready"


def test_overflow_into_another_queue_keeps_the_arrival_time() -> None:
    cfg = config(
        {"front": [{"topic": "vermittlung"}]},
        queues={"kfz": {"max_wait": 60, "overflow": {"queue": "vermittlung"}}},
    )
    q = new_queue(cfg)
    q, _ = run(
        q,
        CallerJoined("old", "kfz", "duisburg", now=0),
        CallerJoined("new", "vermittlung", "duisburg", now=30),
    )
    q, fx = step(q, Tick(now=60))
    assert fx[0] == Overflow("old", OverflowQueue(queue="vermittlung"))
    assert q.callers["old"].topic == "vermittlung"
    assert q.callers["old"].visited == ("kfz", "vermittlung")
    q = online(q, "front", now=61)
    # Arrived at 0 in kfz, so ahead of "new" (30) in the new line.
    assert q.callers["old"].ringing == "front"
    assert q.position("old") == 1


def test_overflow_loop_is_not_followed() -> None:
    cfg = config(
        {},
        queues={
            "kfz": {"max_wait": 10, "overflow": {"queue": "pass"}},
            "pass": {"max_wait": 10, "overflow": {"queue": "kfz"}},
        },
    )
    q = new_queue(cfg)
    q, fx = run(q, CallerJoined("c1", "kfz", "duisburg", now=0), Tick(now=10), Tick(now=20))
    assert of(fx, Overflow) == [Overflow("c1", OverflowQueue(queue="pass"))]
    assert q.callers["c1"].topic == "pass"
    assert q.callers["c1"].max_wait_at is None


VOICEMAIL = OverflowVoicemail(voicemail=True)


def test_join_empty_false_turns_away_at_once_when_nobody_is_there() -> None:
    cfg = config({"a1": KFZ, "b1": [{"client": "bottrop"}]}, join_empty=False, overflow=VOICEMAIL)
    q = new_queue(cfg)
    # b1 is logged in, but takes only Bottrop's calls: the queue is empty for Duisburg.
    q = online(q, "b1")
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=5))
    assert fx[:2] == (
        Overflow("c1", VOICEMAIL, "empty"),
        CallFinished("c1", "kfz", "overflow", 0.0),
    )
    assert not q.callers
    q, fx = step(q, CallerJoined("c2", "kfz", "bottrop", now=6))
    assert of(fx, RingAgent) == [RingAgent("b1", "c2", 15.0)]


@pytest.mark.parametrize(
    "present",
    [
        pytest.param(lambda q: run(q, AgentPaused("a1", "pause", now=0))[0], id="paused"),
        pytest.param(lambda q: run(q, DeviceBusy("a1", now=0))[0], id="device busy"),
    ],
)
def test_paused_or_busy_agents_count_as_present(present: Any) -> None:
    cfg = config({"a1": KFZ}, join_empty=False, leave_when_empty=True, overflow=VOICEMAIL)
    q = present(online(new_queue(cfg), "a1"))
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=1))
    assert of(fx, Overflow) == []
    assert q.position("c1") == 1


@pytest.mark.parametrize(
    "leave",
    [AgentLoggedOut("a1", now=10), AgentUnregistered("a1", now=10)],
    ids=["logged out", "unregistered"],
)
def test_leave_when_empty_sends_the_waiting_on(leave: Event) -> None:
    cfg = config({"a1": KFZ}, leave_when_empty=True, overflow=VOICEMAIL)
    q = online(new_queue(cfg), "a1")
    q, _ = run(q, AgentPaused("a1", "Mittag", now=0), CallerJoined("c1", "kfz", "duisburg", now=1))
    assert q.position("c1") == 1  # joining an empty queue is allowed (join_empty default)
    q, fx = step(q, leave)
    assert fx[:2] == (
        Overflow("c1", VOICEMAIL, "empty"),
        CallFinished("c1", "kfz", "overflow", 9.0),
    )


def test_leave_when_empty_off_keeps_callers_waiting() -> None:
    cfg = config({"a1": KFZ}, overflow=VOICEMAIL)
    q = online(new_queue(cfg), "a1")
    q, _ = run(q, AgentPaused("a1", "Mittag", now=0), CallerJoined("c1", "kfz", "duisburg", now=1))
    q, fx = run(q, AgentLoggedOut("a1", now=10), Tick(now=500))
    assert of(fx, Overflow) == []
    assert q.position("c1") == 1


def test_empty_overflow_into_another_queue_follows_its_join_rule() -> None:
    cfg = config(
        {"front": [{"topic": "vermittlung"}]},
        queues={
            "kfz": {"join_empty": False, "overflow": {"queue": "vermittlung"}},
            "vermittlung": {"join_empty": False, "overflow": {"voicemail": True}},
        },
    )
    q, fx = step(new_queue(cfg), CallerJoined("c1", "kfz", "duisburg", now=0))
    assert of(fx, Overflow) == [
        Overflow("c1", OverflowQueue(queue="vermittlung"), "empty"),
        Overflow("c1", VOICEMAIL, "empty"),
    ]
    assert of(fx, CallFinished) == [CallFinished("c1", "vermittlung", "overflow", 0.0)]
    q = online(new_queue(cfg), "front")
    q, fx = step(q, CallerJoined("c2", "kfz", "duisburg", now=0))
    assert of(fx, RingAgent) == [RingAgent("front", "c2", 15.0)]
    assert q.callers["c2"].topic == "vermittlung"


def test_empty_overflow_loop_stays_put() -> None:
    cfg = config(
        {},
        queues={
            "kfz": {"leave_when_empty": True, "overflow": {"queue": "pass"}},
            "pass": {"leave_when_empty": True, "overflow": {"queue": "kfz"}},
        },
    )
    q, fx = run(new_queue(cfg), CallerJoined("c1", "kfz", "duisburg", now=0), Tick(now=10))
    assert of(fx, Overflow) == [Overflow("c1", OverflowQueue(queue="pass"), "empty")]
    assert q.callers["c1"].topic == "pass"


def test_config_change_adds_and_drops_agents_and_applies_new_skills() -> None:
    before = config({"a1": KFZ, "a2": KFZ})
    q = online(new_queue(before), "a1", "a2")
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=1))
    ringing = of(fx, RingAgent)[0].agent
    # The ringing agent leaves the file; a new one joins; the other learns "pass".
    stays = "a2" if ringing == "a1" else "a1"
    after = config({stays: [*KFZ, {"topic": "pass"}], "new": ANY})
    q, fx = step(q, ConfigChanged(after, now=2))
    assert fx[0] == CancelRing(ringing, "c1")
    assert of(fx, RingAgent) == [RingAgent(stays, "c1", 15.0)]
    assert sorted(q.agents) == sorted([stays, "new"])
    assert q.agents["new"].status == "logged_out"
    q, fx = run(q, CallerJoined("c2", "pass", "duisburg", now=3))
    assert q.position("c2") == 1  # stays is ringing for c1; nobody else is logged in
    q, fx = run(q, RingAnswered(stays, "c1", now=4), CallEnded(stays, "c1", now=5))
    assert of(fx, RingAgent) == [RingAgent(stays, "c2", 15.0)]


def test_config_change_applies_new_queue_settings() -> None:
    q = online(new_queue(config({"a1": KFZ})), "a1")
    q, _ = run(q, AgentPaused("a1", "Mittag", now=0), CallerJoined("c1", "kfz", "duisburg", now=1))
    stricter = config({"a1": KFZ}, leave_when_empty=True, overflow=VOICEMAIL)
    q, fx = run(q, ConfigChanged(stricter, now=2), AgentLoggedOut("a1", now=3))
    assert of(fx, Overflow) == [Overflow("c1", VOICEMAIL, "empty")]


def test_caller_leaving_while_ringing_cancels_the_ring() -> None:
    q = online(new_queue(config({"a1": KFZ})), "a1")
    q, _ = run(
        q,
        CallerJoined("c1", "kfz", "duisburg", now=0),
        CallerJoined("c2", "kfz", "duisburg", now=1),
    )
    q, fx = step(q, CallerLeft("c1", now=5))
    assert fx[:3] == (
        CancelRing("a1", "c1"),
        CallFinished("c1", "kfz", "abandoned", 5.0),
        RingAgent("a1", "c2", 15.0),
    )
    assert q.agents["a1"].misses == 0
    q, fx = step(q, RingAnswered("a1", "c1", now=6))  # raced with the hang-up: stale
    assert fx == ()


@pytest.mark.parametrize(
    "leave",
    [
        pytest.param(AgentPaused("a1", "Mittag", now=5), id="paused"),
        pytest.param(AgentLoggedOut("a1", now=5), id="logged_out"),
        pytest.param(AgentUnregistered("a1", now=5), id="unregistered"),
    ],
)
def test_agent_going_away_while_ringing_hands_the_caller_on(leave: Event) -> None:
    q = new_queue(config({"a1": KFZ, "a2": KFZ}))
    q = online(q, "a1", now=0)
    q = online(q, "a2", now=1)
    q, _ = step(q, CallerJoined("c1", "kfz", "duisburg", now=2))
    assert q.agents["a1"].call == "c1"
    q, fx = step(q, leave)
    assert fx[:2] == (CancelRing("a1", "c1"), RingAgent("a2", "c1", 15.0))
    assert q.agents["a1"].misses == 0


def test_pause_during_a_call_applies_afterwards() -> None:
    q = online(new_queue(config({"a1": KFZ})), "a1")
    q, _ = run(
        q,
        CallerJoined("c1", "kfz", "duisburg", now=0),
        RingAnswered("a1", "c1", now=1),
        AgentPaused("a1", "Schulung", now=2),
        CallerJoined("c2", "kfz", "duisburg", now=3),
    )
    q, fx = step(q, CallEnded("a1", "c1", now=10))
    assert of(fx, RingAgent) == []
    assert q.agents["a1"].status == "paused"


def test_free_agent_takes_best_caller_across_its_topics() -> None:
    cfg = config({"a1": [{"topic": "kfz"}, {"topic": "pass"}]})
    q = new_queue(cfg)
    q, _ = run(
        q,
        CallerJoined("kfz-early", "kfz", "duisburg", now=0),
        CallerJoined("pass-earlier", "pass", "duisburg", now=-1),  # time does not go back
        CallerJoined("pass-later", "pass", "duisburg", now=5),
        CallerJoined("kfz-vip", "kfz", "duisburg", now=6, priority=3),
        CallerJoined("other", "abfall", "duisburg", now=-10),
    )
    q = online(q, "a1", now=7)
    order = _serve_all_but(q, "a1", now=8)
    assert order == ["kfz-vip", "kfz-early", "pass-earlier", "pass-later"]


def _serve_all_but(q: QueueState, agent: str, now: float) -> list[str]:
    order: list[str] = []
    while q.agents[agent].call is not None:
        call = q.agents[agent].call
        assert call is not None
        now += 1
        q, fx = run(q, RingAnswered(agent, call, now=now), CallEnded(agent, call, now=now))
        order += [c.call for c in of(fx, Connect)]
    return order


def test_announcements_on_join_and_periodically_never_while_ringing() -> None:
    cfg = config({"a1": KFZ}, announce_every=60, ring_timeout=100)
    q = new_queue(cfg)
    q, fx = run(q, CallerJoined("c1", "kfz", "duisburg", now=0))
    # Nobody logged in: no estimate.
    assert of(fx, AnnounceToCaller) == [AnnounceToCaller("c1", 1, None)]
    q = online(q, "a1", now=1)  # rings c1 at once
    assert q.callers["c1"].ringing == "a1"
    q, fx = run(q, CallerJoined("c2", "kfz", "duisburg", now=2, priority=1))
    # c2 ranks first by priority; a1 is taken (ringing): wait about one handle time.
    assert of(fx, AnnounceToCaller) == [AnnounceToCaller("c2", 1, 180)]
    q, fx = step(q, Tick(now=60))
    assert of(fx, AnnounceToCaller) == []  # c1's turn, but a1 is ringing for it
    q, fx = step(q, Tick(now=62))
    assert of(fx, AnnounceToCaller) == [AnnounceToCaller("c2", 1, 180)]


def test_announcement_uses_recent_handle_times() -> None:
    cfg = config({"a1": KFZ, "a2": KFZ}, announce_every=30, wrapup=20)
    q = online(new_queue(cfg), "a1", "a2")
    for i, agent in enumerate(("a1", "a2")):
        q, _ = run(q, CallerJoined(f"x{i}", "kfz", "duisburg", now=0))
        q, _ = run(q, RingAnswered(agent, f"x{i}", now=0))
    q, _ = run(
        q,
        CallEnded("a1", "x0", now=100),  # handle time 100 + 20 wrap-up
        RingAnswered("a1", "y", now=100),  # stale: y is not there
        CallerJoined("c1", "kfz", "duisburg", now=101),
    )
    q, fx = step(q, CallerJoined("c2", "kfz", "duisburg", now=102))
    # position 2, two agents staffed, none free, mean handle 120 → 2 · 120 / 2
    assert of(fx, AnnounceToCaller) == [AnnounceToCaller("c2", 2, 120)]
    assert q.position("c2") == 2
    assert q.position("nobody") is None


def test_one_timer_replaced_only_when_the_deadline_changes() -> None:
    cfg = config({"a1": KFZ}, announce_every=60)
    q = new_queue(cfg)
    q, fx = step(q, CallerJoined("c1", "kfz", "duisburg", now=0))
    assert of(fx, StartTimer) == [StartTimer(60.0, "announce c1")]
    q, fx = step(q, CallerJoined("c2", "kfz", "duisburg", now=10))
    assert of(fx, StartTimer) == []  # c2's announcement at 70 is later
    q, fx = step(q, CallerLeft("c1", now=20))
    assert of(fx, StartTimer) == [StartTimer(70.0, "announce c2")]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(AgentLoggedIn("nobody", now=0), id="unknown agent"),
        pytest.param(RingAnswered("a1", "c9", now=0), id="answer without ring"),
        pytest.param(RingTimedOut("a1", "c9", now=0), id="timeout without ring"),
        pytest.param(CallEnded("a1", "c9", now=0), id="end without call"),
        pytest.param(CallerLeft("c9", now=0), id="unknown caller"),
        pytest.param(AgentReady("a1", now=0), id="ready while logged out"),
        pytest.param(AgentPaused("a1", "x", now=0), id="pause while logged out"),
    ],
)
def test_events_that_do_not_fit_change_nothing(event: Event) -> None:
    q = new_queue(config({"a1": KFZ}))
    after, fx = step(q, event)
    assert fx == ()
    assert after.agents == q.agents and after.callers == q.callers


def test_duplicate_join_is_ignored() -> None:
    q = new_queue(config({"a1": KFZ}))
    q, _ = step(q, CallerJoined("c1", "kfz", "duisburg", now=0))
    again, fx = step(q, CallerJoined("c1", "pass", "bottrop", now=1))
    assert fx == ()
    assert again.callers["c1"].topic == "kfz"


def test_time_never_runs_backwards() -> None:
    q = new_queue(config({"a1": KFZ}))
    q, _ = step(q, Tick(now=100))
    q, _ = step(q, CallerJoined("c1", "kfz", "duisburg", now=50))
    assert q.callers["c1"].arrived == 100
