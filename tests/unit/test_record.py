"""The call record as a fold over the call's life events: one table row per outcome, the caller
number as the admin allows, and properties over any sequence of events."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadtruf.core.lifecycle import (
    AgentAnswered,
    AgentRang,
    Arrived,
    CallbackRequested,
    Ended,
    Happened,
    KeyPressed,
    LanguageChosen,
    LifeEvent,
    MenuEntered,
    OriginDecided,
    Overflowed,
    Queued,
    RingEnded,
    RouteChosen,
    Transferred,
)
from stadtruf.core.record import (
    CallRecord,
    close_lost,
    fold,
    for_storage,
    start,
    step,
    stored_caller,
    with_wrap_up,
)
from tests.support.call_events import ARRIVE, CASES, MENU, ORIGIN, QUEUED, T0, TO_KFZ


def run(*events: LifeEvent, call_id: str = "c1") -> CallRecord:
    """Fold `events`, one second apart from T0."""
    return fold(Happened(call_id, T0 + i, e) for i, e in enumerate(events))[call_id]


def test_answered_call_has_every_field() -> None:
    r = run(
        ARRIVE,
        ORIGIN,
        MENU,
        KeyPressed("9", "main"),
        LanguageChosen("en"),
        MenuEntered("main_en", "bottrop"),
        KeyPressed("2", "main_en"),
        TO_KFZ,
        QUEUED,  # T0+8
        AgentRang("a1"),  # +9
        RingEnded("a1", "timeout"),
        AgentRang("a2"),
        AgentAnswered("a2"),  # +12
        Ended("caller", 16),  # +13
    )
    assert r == CallRecord(
        call_id="c1",
        dialled="115",
        caller="02041123456",
        arrived_at=T0,
        last_seen_at=T0 + 13,
        client="bottrop",
        origin_rule="area_code",
        origin_reason="Vorwahl 02041",
        language="en",
        menu_path=("main", "main_en"),
        keys="92",
        topic="kfz",
        route_kind="queue",
        route_target="kfz",
        route_cause="key",
        queued_at=T0 + 8,
        rang_at=T0 + 9,
        answered_at=T0 + 12,
        ended_at=T0 + 13,
        agent="a2",
        rings=2,
        wait_s=4.0,
        talk_s=1.0,
        outcome="answered",
        ended_by="caller",
        hangup_cause=16,
    )


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_outcomes(events: list[LifeEvent], expected: dict[str, object]) -> None:
    r = run(ARRIVE, *events, Ended("caller"))
    got = {name: getattr(r, name) for name in expected}
    assert got == expected
    assert r.complete and r.ended_at == T0 + len(events) + 1


def test_events_after_the_end_and_a_second_arrival_change_nothing() -> None:
    r = run(ARRIVE, QUEUED, Ended("caller"))
    assert step(r, Happened("c1", T0 + 9, RingEnded("a1", "cancelled"))) == r
    assert step(r, Happened("c1", T0 + 9, ARRIVE)) == r
    open_ = run(ARRIVE, QUEUED)
    assert step(open_, Happened("c1", T0 + 9, Arrived("0203", None))) == open_


def test_a_call_seen_first_after_a_restart_is_recorded_from_there() -> None:
    r = step(None, Happened("c9", T0, AgentAnswered("a1")))
    assert (r.dialled, r.arrived_at, r.answered_at, r.agent) == ("", T0, T0, "a1")


def test_lost_call_is_closed_where_last_seen_and_reopened_by_a_later_event() -> None:
    r = close_lost(run(ARRIVE, TO_KFZ, QUEUED))
    assert (r.outcome, r.ended_at, r.wait_s) == ("lost", T0 + 2, 0.0)
    assert close_lost(r) == r
    again = step(
        step(r, Happened("c1", T0 + 30, AgentAnswered("a1"))),
        Happened("c1", T0 + 40, Ended("agent")),
    )
    assert (again.outcome, again.wait_s, again.talk_s) == ("answered", 28.0, 10.0)


def test_wrap_up_comes_later() -> None:
    assert with_wrap_up(run(ARRIVE, Ended("caller")), 12.5).wrap_up_s == 12.5


@pytest.mark.parametrize(
    ("number", "storage", "expected"),
    [
        ("+49 203 1234567", "full", "02031234567"),
        ("+49 203 1234567", "area_code", "0203…"),
        ("02041 70-0", "area_code", "02041…"),  # the longest known area code wins
        ("02045 1234", "area_code", "02045…"),
        ("030 1234567", "area_code", "030…"),  # unknown: never more than 3 digits
        ("0221 1234567", "area_code", "022…"),
        ("0171 1234567", "area_code", "0171…"),  # mobile prefix
        ("+31 20 1234567", "area_code", "0031…"),
        ("115", "area_code", None),
        ("anonymous", "full", "anonymous"),
        ("02031234567", "none", None),
        (None, "full", None),
        ("0203…", "area_code", "0203…"),  # already reduced: stays
    ],
)
def test_caller_number_as_configured(
    number: str | None, storage: str, expected: str | None
) -> None:
    known = ["0203", "0204", "02041", "02045"]
    assert stored_caller(number, storage, known) == expected  # type: ignore[arg-type]


def test_for_storage_is_idempotent() -> None:
    r = run(ARRIVE)
    once = for_storage(r, "area_code", ["02041"])
    assert once.caller == "02041…"
    assert for_storage(once, "area_code", ["02041"]) == once
    assert for_storage(r, "none").caller is None


# --- Properties ------------------------------------------------------------------------------

AGENTS = st.sampled_from(["a1", "a2"])
MIDDLE: st.SearchStrategy[LifeEvent] = st.one_of(
    st.builds(
        OriginDecided,
        st.sampled_from([None, "bottrop", "rees"]),
        st.just("area_code"),
        st.just("x"),
    ),
    st.builds(MenuEntered, st.sampled_from(["main", "kfz"]), st.sampled_from([None, "bottrop"])),
    st.builds(KeyPressed, st.sampled_from(["1", "2", "#"]), st.just("main")),
    st.builds(LanguageChosen, st.sampled_from(["de", "en"])),
    st.builds(
        RouteChosen,
        st.sampled_from(["queue", "transfer", "announce", "hangup", "client"]),
        st.sampled_from(["kfz", "bottrop", "PJSIP/wbd"]),
        st.sampled_from([None, "kfz"]),
        st.just("main"),
        st.sampled_from(["key", "default", "closed"]),
    ),
    st.builds(Queued, st.sampled_from(["kfz", "pass"])),
    st.builds(AgentRang, AGENTS),
    st.builds(RingEnded, AGENTS, st.just("timeout")),
    st.builds(AgentAnswered, AGENTS),
    st.builds(Overflowed, st.just("max_wait"), st.sampled_from(["queue", "transfer", "callback"])),
    st.builds(CallbackRequested, st.sampled_from(["callback", "voicemail"])),
    st.builds(Transferred, st.just("0203"), st.sampled_from(["menu", "agent", "overflow"])),
    st.builds(Ended, st.sampled_from(["caller", "agent", "system"]), st.sampled_from([None, 16])),
    st.builds(Arrived, st.just("115"), st.just(None)),
)


@st.composite
def calls(draw: st.DrawFn) -> list[Happened]:
    """Several calls, each Arrived … Ended, interleaved, times never going back."""
    n = draw(st.integers(1, 4))
    per_call = [
        [Arrived("115", "0203123456"), *draw(st.lists(MIDDLE, max_size=12)), Ended("caller")]
        for _ in range(n)
    ]
    order = draw(st.permutations([i for i, evs in enumerate(per_call) for _ in evs]))
    cursor = [0] * n
    t = T0
    result = []
    for i in order:
        t += draw(st.sampled_from([0.0, 0.5, 3.0]))
        result.append(Happened(f"c{i}", t, per_call[i][cursor[i]]))
        cursor[i] += 1
    return result


@given(calls())
def test_every_call_folds_to_exactly_one_complete_record(events: list[Happened]) -> None:
    records = fold(events)
    assert set(records) == {h.call_id for h in events}
    for r in records.values():
        assert r.complete and r.ended_at is not None
        assert r.arrived_at <= r.ended_at
        for value in (r.wait_s, r.talk_s):
            assert value is None or value >= 0
        assert (r.outcome == "answered") == (r.answered_at is not None)


@given(calls(), st.data())
def test_one_by_one_equals_all_at_once(events: list[Happened], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(events)))
    stepwise: dict[str, CallRecord] = {}
    for h in events:
        stepwise[h.call_id] = step(stepwise.get(h.call_id), h)
    assert stepwise == fold(events) == fold(events[cut:], fold(events[:cut]))


def test_start_needs_no_arrived() -> None:
    r = start(Happened("x", T0, Queued("kfz")))
    assert replace(r, queued_at=None, topic=None) == CallRecord("x", "", T0, T0)
