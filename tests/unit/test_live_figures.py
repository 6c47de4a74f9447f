"""Live figures (pure): bounded labels, the queue now, calls counted as they end, today's SL."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadtruf.config.agents import AgentsConfig
from stadtruf.core import live_figures as lf
from stadtruf.core.lifecycle import (
    AgentAnswered,
    AgentRang,
    Arrived,
    Ended,
    Happened,
    LifeEvent,
    OriginDecided,
    Overflowed,
    Queued,
    RouteChosen,
)
from stadtruf.core.queue import (
    AgentLoggedIn,
    AgentPaused,
    AgentRegistered,
    CallerJoined,
    QueueState,
    new_queue,
    step,
)
from stadtruf.core.service_level import Target

LABELS = lf.labels_of(["bottrop", "dinslaken"], ["kfz", "vermittlung"])
BERLIN = ZoneInfo("Europe/Berlin")
CONFIG = AgentsConfig.model_validate(
    {
        "defaults": {"announce_every": 0, "wrapup": 0, "retry": 0, "autopause_after": 0},
        "agents": [
            {"id": "agent-101", "name": "Anna", "skills": [{"topic": "kfz"}]},
            {"id": "agent-102", "name": "Mehmet", "skills": [{"topic": "*"}]},
            {"id": "agent-103", "name": "Jana", "skills": [{"topic": "abfall"}]},
        ],
    }
)


def at(text: str) -> float:
    """Seconds since the epoch of a Berlin local time."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


@pytest.mark.parametrize(
    ("value", "client", "topic"),
    [
        ("bottrop", "bottrop", "other"),
        ("kfz", "other", "kfz"),
        (None, "none", "none"),
        ("", "none", "none"),
        ('evil"} 1\nstadtruf_x{a="', "other", "other"),
        ("Bottrop", "other", "other"),  # case matters: ids are lower case in the config
    ],
)
def test_labels_come_from_the_config_only(value: str | None, client: str, topic: str) -> None:
    assert LABELS.client(value) == client
    assert LABELS.topic(value) == topic


@given(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_any_input_maps_to_a_configured_or_fixed_value(
    client: str | None, topic: str | None
) -> None:
    assert LABELS.client(client) in LABELS.clients | {"other", "none"}
    assert LABELS.topic(topic) in LABELS.topics | {"other", "none"}


@pytest.mark.parametrize(
    ("outcome", "label"),
    [("answered", "answered"), ("abandoned_queue", "abandoned_queue"), ("lost", "lost"),
     ("whatever", "other"), (None, "other")],
)  # fmt: skip
def test_outcome_labels_are_the_records_outcomes(outcome: str | None, label: str) -> None:
    assert lf.outcome_label(outcome) == label


def queue_with(*events: object) -> QueueState:
    state = new_queue(CONFIG)
    for event in events:
        state, _ = step(state, event)  # type: ignore[arg-type]
    return state


def test_waiting_per_client_and_topic_with_the_longest_wait() -> None:
    state = queue_with(
        CallerJoined("c1", topic="kfz", client="bottrop", now=10),
        CallerJoined("c2", topic="kfz", client="bottrop", now=25),
        CallerJoined("c3", topic="vermittlung", client="dinslaken", now=30),
        CallerJoined("c4", topic="kfz", client="hacker\u202e", now=31),
    )
    lines = {(w.client, w.topic): (w.waiting, w.longest_s) for w in lf.waiting(state, 40, LABELS)}
    assert lines == {
        ("bottrop", "kfz"): (2, 30.0),
        ("bottrop", "vermittlung"): (0, 0.0),
        ("dinslaken", "kfz"): (0, 0.0),
        ("dinslaken", "vermittlung"): (1, 10.0),
        ("other", "kfz"): (1, 9.0),
    }


def test_agents_by_state_lists_every_state() -> None:
    state = queue_with(
        AgentLoggedIn("agent-101", now=0),
        AgentRegistered("agent-101", now=0),
        AgentLoggedIn("agent-102", now=0),
        AgentPaused("agent-102", "Pause", now=1),
        AgentRegistered("agent-103", now=0),
        AgentLoggedIn("agent-103", now=0),
        CallerJoined("c1", topic="abfall", client="bottrop", now=5),
    )
    assert lf.agents_by_state(state) == {
        "ready": 1,
        "ringing": 1,
        "busy": 0,
        "wrapup": 0,
        "paused": 1,
        "logged_out": 0,
    }


def life(call: str, start: float, *events: tuple[float, LifeEvent]) -> list[Happened]:
    return [
        Happened(call, start, Arrived("115", None)),
        *(Happened(call, start + s, e) for s, e in events),
    ]


def queued(client: str, topic: str) -> list[tuple[float, LifeEvent]]:
    return [
        (1, OriginDecided(client, "switchboard", "Zentrale")),
        (3, RouteChosen("queue", topic, topic, "main", "digit")),
        (3, Queued(topic)),
    ]


ANSWERED_AFTER_12 = life(
    "a", at("2026-06-04T10:00"),
    *queued("bottrop", "kfz"), (10, AgentRang("agent-101")), (15, AgentAnswered("agent-101")),
    (100, Ended("agent")),
)  # fmt: skip
ABANDONED_AFTER_40 = life(
    "b", at("2026-06-04T10:01"), *queued("bottrop", "kfz"), (43, Ended("caller"))
)
SHORT_ABANDON = life("c", at("2026-06-04T10:02"), *queued("bottrop", "kfz"), (5, Ended("caller")))
OVERFLOW_AFTER_60 = life(
    "d", at("2026-06-04T10:03"),
    *queued("bottrop", "kfz"), (63, Overflowed("max_wait", "transfer", "0203 283-0")),
    (64, Ended("transfer")),
)  # fmt: skip
MENU_ONLY = life("e", at("2026-06-04T10:04"), (2, Ended("caller")))
HOSTILE = life(
    "f", at("2026-06-04T10:05"),
    (1, OriginDecided('x"}\n', "given", "?")), (2, Queued("<script>")), (30, Ended("caller")),
)  # fmt: skip


def follow(*calls: list[Happened]) -> list[lf.CallCounted]:
    follower = lf.CallFollower()
    done = [follower.step(h) for call in calls for h in call]
    assert follower.open == {}
    return [lf.counted(r, LABELS) for r in done if r is not None]


def test_each_call_is_counted_once_as_it_ends() -> None:
    counted = follow(
        ANSWERED_AFTER_12, ABANDONED_AFTER_40, SHORT_ABANDON, OVERFLOW_AFTER_60, MENU_ONLY, HOSTILE
    )
    assert counted == [
        lf.CallCounted("bottrop", "kfz", "answered", 12.0, "answered"),
        lf.CallCounted("bottrop", "kfz", "abandoned_queue", 40.0, "abandoned"),
        lf.CallCounted("bottrop", "kfz", "abandoned_queue", 2.0, "abandoned"),
        lf.CallCounted("bottrop", "kfz", "overflow", 60.0, "left"),
        lf.CallCounted("none", "none", "abandoned_menu", None, "left"),
        lf.CallCounted("other", "other", "abandoned_queue", 28.0, "abandoned"),
    ]


def test_open_calls_stay_bounded_when_ends_are_lost() -> None:
    follower = lf.CallFollower(limit=3)
    for i in range(10):
        assert follower.step(Happened(f"c{i}", float(i), Arrived("115", None))) is None
    assert list(follower.open) == ["c7", "c8", "c9"]


def today_of(*calls: list[Happened]) -> lf.Today:
    today = lf.Today()
    follower = lf.CallFollower()
    for call in calls:
        for h in call:
            record = follower.step(h)
            if record is not None and record.ended_at is not None:
                today.add(lf.counted(record, LABELS), record.ended_at)
    return today


TARGET = Target(0.8, 30)


@pytest.mark.parametrize(
    ("calls", "offered", "answered", "within", "abandoned", "short", "level"),
    [
        ((), 0, 0, 0, 0, 0, None),
        ((ANSWERED_AFTER_12,), 1, 1, 1, 0, 0, 1.0),
        # the short abandon (2 s < 5 s) is not counted against the level
        ((ANSWERED_AFTER_12, SHORT_ABANDON), 2, 1, 1, 1, 1, 1.0),
        ((ANSWERED_AFTER_12, ABANDONED_AFTER_40), 2, 1, 1, 1, 0, 0.5),
        # an overflow counts as not answered in time
        ((ANSWERED_AFTER_12, OVERFLOW_AFTER_60, SHORT_ABANDON), 3, 1, 1, 1, 1, 0.5),
        ((MENU_ONLY,), 0, 0, 0, 0, 0, None),
    ],
)
def test_todays_service_level_per_client(
    calls: tuple[list[Happened], ...],
    offered: int,
    answered: int,
    within: int,
    abandoned: int,
    short: int,
    level: float | None,
) -> None:
    today = today_of(*calls)
    [bottrop, dinslaken] = lf.service_levels(
        today, at("2026-06-04T12:00"), ["dinslaken", "bottrop"], {}, TARGET
    )
    assert (bottrop.client, dinslaken.client) == ("bottrop", "dinslaken")
    assert (bottrop.offered, bottrop.answered, bottrop.answered_within) == (
        offered,
        answered,
        within,
    )
    assert (bottrop.abandoned, bottrop.short_abandoned, bottrop.level) == (abandoned, short, level)
    assert dinslaken.offered == 0 and dinslaken.level is None


def test_the_clients_own_threshold_decides_within() -> None:
    today = today_of(ANSWERED_AFTER_12)
    [level] = lf.service_levels(
        today, at("2026-06-04T12:00"), ["bottrop"], {"bottrop": Target(0.9, 10)}, TARGET
    )
    assert (level.answered_within, level.level, level.meets) == (0, 0.0, False)
    assert level.to_json()["threshold_s"] == 10
    assert level.to_json()["target_percent"] == 90.0


def test_today_is_the_berlin_day_and_starts_empty_after_midnight() -> None:
    late = life("late", at("2026-06-04T23:59:50"), *queued("bottrop", "kfz"), (20, Ended("caller")))
    today = today_of(ANSWERED_AFTER_12, late)
    assert today.day == date(2026, 6, 5)  # ended 00:00:10 Berlin: 22:00 UTC of the day before
    assert list(today.of(at("2026-06-05T08:00"))) == ["bottrop"]
    assert len(today.of(at("2026-06-05T08:00"))["bottrop"]) == 1
    assert today.of(at("2026-06-06T00:00:01")) == {}
    # a late end of yesterday's call does not bring yesterday back
    today.add(lf.CallCounted("bottrop", "kfz", "answered", 3.0, "answered"), at("2026-06-04T23:00"))
    assert len(today.of(at("2026-06-05T08:00"))["bottrop"]) == 1


def test_wait_buckets_hold_the_usual_thresholds() -> None:
    assert {20.0, 30.0} <= set(lf.WAIT_BUCKETS)
    assert list(lf.WAIT_BUCKETS) == sorted(lf.WAIT_BUCKETS)


def test_fan_out_hands_every_event_to_every_sink_even_after_one_fails() -> None:
    from ari_app.sinks import fan_out

    seen: list[str] = []

    def broken(happened: Happened) -> None:
        raise RuntimeError("store gone")

    sink = fan_out(lambda h: seen.append("a" + h.call_id), broken, lambda h: seen.append("b"))
    sink(Happened("1", 0.0, Arrived("115", None)))
    sink(Happened("2", 0.0, Arrived("115", None)))
    assert seen == ["a1", "b", "a2", "b"]


def test_events_after_the_end_neither_count_twice_nor_stay_open() -> None:
    follower = lf.CallFollower()
    done = [follower.step(h) for h in ANSWERED_AFTER_12]
    late = ANSWERED_AFTER_12[-1]
    assert follower.step(Happened(late.call_id, late.at + 1, Ended("system"))) is None
    assert sum(r is not None for r in done) == 1
    assert follower.open == {}
