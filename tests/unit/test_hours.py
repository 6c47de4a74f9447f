"""Opening hours (stadtruf.core.hours): tables across DST, holidays, midnight, exceptions and
overrides; the closed announcement; properties against a brute-force reference."""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, get_args

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.config import load
from stadtruf.config.hours import HoursConfig, weekdays_of
from stadtruf.config.model import FederalState
from stadtruf.config.schedule import schedule_for, when_closed_for
from stadtruf.core.hours import (
    ALWAYS,
    BERLIN,
    WEEKDAYS_DE,
    Closed,
    DateException,
    Interval,
    MonthDay,
    Open,
    OpeningHours,
    Override,
    Reason,
    Schedule,
    applicable,
    current_overrides,
    holiday_name,
    is_open,
    parse_date,
    status,
)
from stadtruf.core.hours_text import closed_announcement, closed_texts, next_open_sentence

ROOT = Path(__file__).resolve().parents[2]

OFFICE = OpeningHours.weekdays("07:30-18:00")
LUNCH = OpeningHours.weekdays("07:30-12:00", "13:00-18:00")
NW = Schedule((OFFICE,), "NW")
SN = Schedule((OFFICE,), "SN")


def berlin(text: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN, fold=fold)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def week(**days: str | tuple[str, ...]) -> OpeningHours:
    """`week(mo="07:30-18:00", sa=("08:00-10:00", "11:00-12:00"))`, no holidays."""
    table: list[tuple[Interval, ...]] = [() for _ in range(7)]
    for key, value in days.items():
        texts = (value,) if isinstance(value, str) else value
        for day in weekdays_of(key.replace("_", "-")):
            table[day] = tuple(Interval.parse(t) for t in texts)
    return OpeningHours(tuple(table), closed_on_holidays=False)


# --- The decision, as a table --------------------------------------------------------------

HOURS: Final = "hours"
CASES = [
    # (name, schedule, at, expected status)
    (
        "17:59:59 is still open",
        NW,
        berlin("2026-06-03T17:59:59"),
        Open(berlin("2026-06-03T18:00")),
    ),
    (
        "18:00:00 is closed; Thursday is Corpus Christi in NW",
        NW,
        berlin("2026-06-03T18:00"),
        Closed(Reason(HOURS), berlin("2026-06-05T07:30")),
    ),
    (
        "Corpus Christi closes NW",
        NW,
        berlin("2026-06-04T10:00"),
        Closed(Reason("holiday", "Fronleichnam"), berlin("2026-06-05T07:30")),
    ),
    (
        "Corpus Christi is a working day in SN",
        SN,
        berlin("2026-06-04T10:00"),
        Open(berlin("2026-06-04T18:00")),
    ),
    (
        "Reformation Day closes SN",
        SN,
        berlin("2028-10-30T18:30"),
        Closed(Reason(HOURS), berlin("2028-11-01T07:30")),
    ),
    (
        "All Saints' Day closes NW",
        NW,
        berlin("2028-10-30T18:30"),
        Closed(Reason(HOURS), berlin("2028-10-31T07:30")),
    ),
    (
        "Repentance Day in SN",
        SN,
        berlin("2026-11-18T09:00"),
        Closed(Reason("holiday", "Buß- und Bettag"), berlin("2026-11-19T07:30")),
    ),
    (
        "Friday evening: next Monday",
        NW,
        berlin("2026-06-05T18:30"),
        Closed(Reason(HOURS), berlin("2026-06-08T07:30")),
    ),
    (
        "lunch break: today at 13:00",
        Schedule((LUNCH,), "NW"),
        berlin("2026-06-03T12:00"),
        Closed(Reason(HOURS), berlin("2026-06-03T13:00")),
    ),
    (
        "before opening",
        NW,
        berlin("2026-06-03T07:29:59"),
        Closed(Reason(HOURS), berlin("2026-06-03T07:30")),
    ),
    (
        "at midnight the new day's hours count",
        NW,
        berlin("2026-06-03T00:00"),
        Closed(Reason(HOURS), berlin("2026-06-03T07:30")),
    ),
    # DST: 29 March 2026, 2:00 CET → 3:00 CEST
    (
        "spring forward: Monday 7:30 is 5:30 UTC",
        NW,
        berlin("2026-03-27T18:00"),
        Closed(Reason(HOURS), utc("2026-03-30T05:30")),
    ),
    (
        "spring forward: a night shift lasts an hour less",
        Schedule((week(so="00:00-04:00"),)),
        berlin("2026-03-29T01:30"),
        Open(utc("2026-03-29T02:00")),
    ),
    (
        "spring forward: hours starting in the skipped hour open at 3:00",
        Schedule((week(so="02:30-05:00"),)),
        berlin("2026-03-29T01:59"),
        Closed(Reason(HOURS), utc("2026-03-29T01:00")),
    ),
    # DST: 25 October 2026, 3:00 CEST → 2:00 CET
    (
        "fall back: Monday 7:30 is 6:30 UTC",
        NW,
        berlin("2026-10-23T18:00"),
        Closed(Reason(HOURS), utc("2026-10-26T06:30")),
    ),
    (
        "fall back: the wall clock counts, the repeated hour opens again",
        Schedule((week(so="00:00-02:30"),)),
        berlin("2026-10-25T02:40", fold=0),
        Closed(Reason(HOURS), utc("2026-10-25T01:00")),
    ),
    (
        "fall back: first pass of 2:10 is open until the first 2:30",
        Schedule((week(so="00:00-02:30"),)),
        berlin("2026-10-25T02:10", fold=0),
        Open(utc("2026-10-25T00:30")),
    ),
    (
        "fall back: second pass of 2:10 is open until the second 2:30",
        Schedule((week(so="00:00-02:30"),)),
        berlin("2026-10-25T02:10", fold=1),
        Open(utc("2026-10-25T01:30")),
    ),
    # Midnight
    (
        "22:00–24:00 and 0:00–2:00 are one stretch",
        Schedule((week(fr="22:00-24:00", sa="00:00-02:00"),)),
        berlin("2026-06-05T23:00"),
        Open(berlin("2026-06-06T02:00")),
    ),
    (
        "open around the clock",
        Schedule((ALWAYS,), "NW"),
        berlin("2026-12-25T03:00"),
        Open(None),
    ),
    (
        "no hours configured: always open",
        Schedule((), "NW"),
        berlin("2026-06-04T10:00"),
        Open(None),
    ),
    (
        "never open: nothing to announce",
        Schedule((week(),)),
        berlin("2026-06-04T10:00"),
        Closed(Reason(HOURS), None),
    ),
]


@pytest.mark.parametrize(
    ("schedule", "at", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_status(schedule: Schedule, at: datetime, expected: Open | Closed) -> None:
    assert status(schedule, at) == expected


def test_status_needs_a_time_zone() -> None:
    with pytest.raises(ValueError):
        status(NW, datetime(2026, 6, 3, 10, 0))


def test_times_come_back_in_utc() -> None:
    # Same-zone datetimes compare by wall clock, wrong in October's repeated hour: UTC is safe.
    result = status(NW, berlin("2026-06-03T20:00"))
    assert isinstance(result, Closed) and result.next_open is not None
    assert result.next_open.tzinfo == UTC and result.next_open.hour == 5


# --- Exceptions -----------------------------------------------------------------------------

CHRISTMAS = OpeningHours(
    OFFICE.weekly,
    (
        DateException(MonthDay(12, 24), MonthDay(12, 24), (), "Heiligabend"),
        DateException(
            date(2026, 12, 28),
            date(2026, 12, 30),
            (Interval.parse("08:00-12:00"),),
            "Zwischen den Jahren",
        ),
        DateException(
            date(2026, 9, 12),
            date(2026, 9, 12),
            (Interval.parse("09:00-16:00"),),
            "Tag der offenen Tür",
        ),
        DateException(
            date(2026, 6, 4), date(2026, 6, 4), (Interval.parse("08:00-12:00"),), "Notdienst"
        ),
    ),
)
XMAS = Schedule((CHRISTMAS,), "NW")

EXCEPTION_CASES = [
    (
        "24 Dec every year, then the holidays and Sunday",
        berlin("2026-12-24T10:00"),
        Closed(Reason("exception", "Heiligabend"), berlin("2026-12-28T08:00")),
    ),
    (
        "24 Dec next year too",
        berlin("2027-12-24T10:00"),
        Closed(Reason("exception", "Heiligabend"), berlin("2027-12-27T07:30")),
    ),
    (
        "a range with shorter hours",
        berlin("2026-12-29T12:00"),
        Closed(Reason("exception", "Zwischen den Jahren"), berlin("2026-12-30T08:00")),
    ),
    (
        "open longer on a Saturday",
        berlin("2026-09-12T15:59"),
        Open(berlin("2026-09-12T16:00")),
    ),
    (
        "an exception beats the holiday",
        berlin("2026-06-04T10:00"),
        Open(berlin("2026-06-04T12:00")),
    ),
    (
        "after the range the week counts again",
        berlin("2026-12-30T12:00"),
        Closed(Reason("exception", "Zwischen den Jahren"), berlin("2026-12-31T07:30")),
    ),
]


@pytest.mark.parametrize(
    ("at", "expected"), [c[1:] for c in EXCEPTION_CASES], ids=[c[0] for c in EXCEPTION_CASES]
)
def test_exceptions(at: datetime, expected: Open | Closed) -> None:
    assert status(XMAS, at) == expected


def test_the_narrowest_exception_wins() -> None:
    hours = OpeningHours(
        OFFICE.weekly,
        (
            DateException(MonthDay(12, 24), MonthDay(12, 31), (), "Betriebsferien"),
            DateException(
                MonthDay(12, 29), MonthDay(12, 29), (Interval.parse("08:00-12:00"),), "Notbesetzung"
            ),
        ),
    )
    schedule = Schedule((hours,), "NW")
    assert status(schedule, berlin("2026-12-28T10:00")) == Closed(
        Reason("exception", "Betriebsferien"), berlin("2026-12-29T08:00")
    )
    assert is_open(schedule, berlin("2026-12-29T09:00"))


def test_a_yearly_range_runs_over_new_year() -> None:
    span = DateException(MonthDay(12, 27), MonthDay(1, 2))
    assert span.covers(date(2026, 12, 30)) and span.covers(date(2027, 1, 1))
    assert not span.covers(date(2027, 1, 3)) and not span.covers(date(2026, 6, 1))
    assert span.days == 7


def test_holidays_can_be_left_open() -> None:
    hours = OpeningHours(OFFICE.weekly, closed_on_holidays=False)
    assert is_open(Schedule((hours,), "NW"), berlin("2026-06-04T10:00"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-24", date(2026, 12, 24)),
        ("24.12.2026", date(2026, 12, 24)),
        ("24.12.", MonthDay(12, 24)),
        ("29.02.", MonthDay(2, 29)),
    ],
)
def test_dates(text: str, expected: object) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31.13.2026", "2026-02-30", "24.12.26", "Heiligabend", "30.02."])
def test_not_dates(text: str) -> None:
    with pytest.raises(ValueError, match="kein Datum"):
        parse_date(text)


@pytest.mark.parametrize(
    "text", ["18:00-07:30", "07:30-07:30", "7:30-25:00", "07:30", "07:60-08:00"]
)
def test_not_intervals(text: str) -> None:
    with pytest.raises(ValueError):
        Interval.parse(text)


# --- Topics narrow the client's hours ------------------------------------------------------


def test_a_topic_narrows_the_client() -> None:
    schedule = Schedule((OFFICE, OpeningHours.weekdays("07:30-16:00")), "NW")
    assert status(schedule, berlin("2026-06-03T15:00")) == Open(berlin("2026-06-03T16:00"))
    assert status(schedule, berlin("2026-06-03T16:30")) == Closed(
        Reason(HOURS), berlin("2026-06-05T07:30")
    )


def test_a_topic_cannot_widen_the_client() -> None:
    schedule = Schedule((OFFICE, week(mo_so="00:00-24:00")), "NW")
    assert not is_open(schedule, berlin("2026-06-06T10:00"))  # Saturday


# --- Overrides ------------------------------------------------------------------------------

MEETING = Override(
    "closed", berlin("2026-06-03T12:00"), berlin("2026-06-03T14:00"), "Personalversammlung"
)


def test_an_override_closes_until_it_expires() -> None:
    assert status(NW, berlin("2026-06-03T11:59"), [MEETING]) == Open(berlin("2026-06-03T12:00"))
    assert status(NW, berlin("2026-06-03T12:00"), [MEETING]) == Closed(
        Reason("override", "Personalversammlung"), berlin("2026-06-03T14:00")
    )
    assert status(NW, berlin("2026-06-03T14:00"), [MEETING]) == Open(berlin("2026-06-03T18:00"))


def test_an_expired_override_is_dropped_and_ignored() -> None:
    later = berlin("2026-06-05T10:00")
    assert current_overrides([MEETING], later) == ()
    assert status(NW, later, [MEETING]) == status(NW, later)


def test_an_override_can_open_and_closing_wins() -> None:
    storm = Override("open", berlin("2026-06-06T08:00"), berlin("2026-06-06T20:00"), "Unwetter")
    assert status(NW, berlin("2026-06-06T10:00"), [storm]) == Open(berlin("2026-06-06T20:00"))
    overlap = Override("closed", berlin("2026-06-06T09:00"), berlin("2026-06-06T11:00"))
    assert not is_open(NW, berlin("2026-06-06T10:00"), [storm, overlap])


def test_overrides_for_a_call() -> None:
    center = Override("closed", MEETING.start, MEETING.end, "Betriebsversammlung")
    bottrop = Override("closed", MEETING.start, MEETING.end, client="bottrop")
    kfz = Override("closed", MEETING.start, MEETING.end, client="bottrop", topic="kfz")
    every = [center, bottrop, kfz]
    assert applicable(every, "duisburg") == (center,)
    assert applicable(every, "bottrop") == (center, bottrop)
    assert applicable(every, "bottrop", "kfz") == (center, bottrop, kfz)
    assert applicable(every, "bottrop", "pass") == (center, bottrop)


def test_overrides_round_trip_through_json_data() -> None:
    assert Override.from_dict(MEETING.to_dict()) == MEETING
    kfz = Override("open", MEETING.start, MEETING.end, "x", client="bottrop", topic="kfz", id="7")
    assert Override.from_dict(json.loads(json.dumps(kfz.to_dict()))) == kfz
    with pytest.raises(ValueError):
        Override("closed", berlin("2026-06-03T12:00"), berlin("2026-06-03T11:00"))
    with pytest.raises(ValueError):
        Override.from_dict({**MEETING.to_dict(), "state": "maybe"})


# --- What the caller hears ------------------------------------------------------------------

SENTENCES = [
    ("2026-06-03T12:10", "2026-06-03T13:00", "Wir sind heute ab 13 Uhr wieder für Sie da."),
    ("2026-06-03T18:00", "2026-06-04T07:30", "Wir sind morgen ab 7:30 Uhr wieder für Sie da."),
    ("2026-06-05T18:00", "2026-06-08T07:30", "Wir sind ab Montag, 7:30 Uhr wieder für Sie da."),
    (
        "2026-12-23T18:00",
        "2027-01-04T07:30",
        "Wir sind ab Montag, 4. Januar, 7:30 Uhr wieder für Sie da.",
    ),
]


@pytest.mark.parametrize(("at", "then", "sentence"), SENTENCES)
def test_next_open_sentence(at: str, then: str, sentence: str) -> None:
    assert next_open_sentence(berlin(at), berlin(then)) == sentence


def test_next_open_sentence_in_english() -> None:
    at = berlin("2026-06-05T18:00")
    assert next_open_sentence(at, berlin("2026-06-08T07:30"), "en") == (
        "We will be available again from 7:30 a.m. on Monday."
    )
    assert next_open_sentence(at, berlin("2026-06-06T13:00"), "en") == (
        "We will be available again from 1 p.m. tomorrow."
    )
    assert next_open_sentence(at, None, "en") == "Please call again later."


def test_the_sentence_counts_days_in_berlin_not_utc() -> None:
    # 23:30 UTC on Friday is already Saturday in Berlin: Monday is two days away, not tomorrow.
    assert "Montag" in next_open_sentence(utc("2026-06-05T23:30"), utc("2026-06-08T05:30"))


def test_closed_announcement() -> None:
    at = berlin("2026-06-04T10:00")
    closed = status(NW, at)
    assert isinstance(closed, Closed)
    assert closed_announcement(closed, at) == (
        "Heute ist ein gesetzlicher Feiertag: Fronleichnam. "
        "Wir sind morgen ab 7:30 Uhr wieder für Sie da."
    )
    assert closed_announcement(closed, at, "en").startswith("Today is a public holiday.")
    own = closed_announcement(closed, at, intro="Das Bürgertelefon ist nicht besetzt.")
    assert (
        own == "Das Bürgertelefon ist nicht besetzt. Wir sind morgen ab 7:30 Uhr wieder für Sie da."
    )
    meeting = status(NW, berlin("2026-06-03T12:30"), [MEETING])
    assert isinstance(meeting, Closed)
    assert closed_announcement(meeting, berlin("2026-06-03T12:30")) == (
        "Unser Servicetelefon ist zurzeit nicht besetzt. "
        "Wir sind heute ab 14 Uhr wieder für Sie da."
    )


# --- From the configuration ------------------------------------------------------------------


def test_sample_config_bottrop_closed_on_corpus_christi_leipzig_open() -> None:
    duisburg = load(ROOT / "config")
    leipzig = load(ROOT / "config/examples/leipzig")
    at = berlin("2026-06-04T10:00")
    bottrop = schedule_for(duisburg.clients["bottrop"], duisburg.service_center)
    assert status(bottrop, at) == Closed(
        Reason("holiday", "Fronleichnam"), berlin("2026-06-05T07:30")
    )
    assert is_open(schedule_for(leipzig.clients["leipzig"], leipzig.service_center), at)
    assert is_open(bottrop, berlin("2026-06-03T17:59:59"))
    assert not is_open(bottrop, berlin("2026-06-03T18:00:00"))


def test_sample_config_topic_hours_and_closed_action() -> None:
    config = load(ROOT / "config")
    wbd, center = config.clients["wbd"], config.service_center
    at = berlin("2026-06-03T16:30")
    assert is_open(schedule_for(wbd, center, "abfall"), at)
    assert not is_open(schedule_for(wbd, center, "sperrmuell"), at)
    assert is_open(schedule_for(wbd, center), berlin("2026-06-06T09:00"))  # Saturday morning
    assert when_closed_for(wbd, center, "sperrmuell", client_open=True).action == "voicemail"


def test_hours_config_to_core() -> None:
    hours = HoursConfig.model_validate(
        {
            "weekly": {"mo,mi": ["13:00-18:00", "07:30-12:00"], "fr": "7:30-14:00"},
            "exceptions": [{"from": "24.12.", "to": "26.12.", "reason": "Weihnachten"}],
        }
    )
    core = hours.to_core()
    assert core.weekly[0] == (Interval(450, 720), Interval(780, 1080))
    assert core.weekly[1] == () and core.weekly[4] == (Interval(450, 840),)
    assert core.exceptions == (
        DateException(MonthDay(12, 24), MonthDay(12, 26), (), "Weihnachten"),
    )


# --- Properties against a brute-force reference ----------------------------------------------

STATES = ("NW", "SN", None)
DST_NIGHTS = (utc("2026-03-29T01:00"), utc("2026-10-25T01:00"), utc("2027-03-28T01:00"))
Week = tuple[tuple[Interval, ...], ...]


@st.composite
def weeks(draw: st.DrawFn) -> Week:
    """Seven days of non-overlapping intervals on any minute, including 0:00 and 24:00."""
    days = []
    for _ in range(7):
        points = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
        points = points[: len(points) // 2 * 2]
        days.append(tuple(Interval(a, b) for a, b in zip(points[::2], points[1::2], strict=True)))
    return tuple(days)


moments = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
    st.sampled_from(DST_NIGHTS).flatmap(
        lambda night: st.integers(-3 * 86400, 3 * 86400).map(lambda s: night + timedelta(seconds=s))
    ),
)


@st.composite
def overrides_near(draw: st.DrawFn, at: datetime) -> list[Override]:
    """Up to two overrides within a few days of `at`, on any second."""
    found = []
    for _ in range(draw(st.integers(0, 2))):
        start = at + timedelta(seconds=draw(st.integers(-2 * 86400, 2 * 86400)))
        length = timedelta(seconds=draw(st.integers(1, 2 * 86400)))
        found.append(Override(draw(st.sampled_from(["open", "closed"])), start, start + length))
    return found


Setup = tuple[list[Week], str | None, datetime, list[Override]]


@st.composite
def setups(draw: st.DrawFn) -> Setup:
    """A client's week, maybe a topic's week, a state, a moment and overrides near it."""
    layers = draw(st.lists(weeks(), min_size=1, max_size=2))
    at = draw(moments)
    return layers, draw(st.sampled_from(STATES)), at, draw(overrides_near(at))


@functools.cache
def _holiday_dates(state: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", subdiv=state, years=year))


def reference(
    layers: list[Week],
    state: str | None,
    at: datetime,
    overrides: list[Override] = [],  # noqa: B006
) -> bool:
    """Open, computed the plain way: overrides, holidays from the package, the local day's
    intervals of every layer."""
    if any(o.start <= at < o.end and o.state == "closed" for o in overrides):
        return False
    if any(o.start <= at < o.end for o in overrides):
        return True
    local = at.astimezone(BERLIN)
    if state is not None and local.date() in _holiday_dates(state, local.year):
        return False
    second = local.hour * 3600 + local.minute * 60 + local.second
    return all(
        any(i.start * 60 <= second < i.end * 60 for i in weekly[local.weekday()])
        for weekly in layers
    )


def schedule_of(layers: list[Week], state: str | None) -> Schedule:
    closed = state is not None
    return Schedule(tuple(OpeningHours(w, closed_on_holidays=closed) for w in layers), state)


@settings(max_examples=200, deadline=None)
@given(setups())
def test_open_exactly_inside_an_interval_of_the_local_day(setup: Setup) -> None:
    layers, state, at, overrides = setup
    result = status(schedule_of(layers, state), at, overrides)
    assert isinstance(result, Open) == reference(layers, state, at, overrides)


@settings(max_examples=150, deadline=None)
@given(setups())
def test_the_next_change_is_in_the_future_and_a_change(setup: Setup) -> None:
    layers, state, at, overrides = setup
    schedule = schedule_of(layers, state)
    result = status(schedule, at, overrides)
    change = result.until if isinstance(result, Open) else result.next_open
    if change is None:
        return
    assert change > at
    # At the change the other state holds (next_open is open, until is closed) ...
    assert reference(layers, state, change, overrides) is not isinstance(result, Open)
    assert isinstance(
        status(schedule, change, overrides), Closed if isinstance(result, Open) else Open
    )
    # ... and the second before it (whole seconds apart from `at`) still this one.
    before = max(at, change - timedelta(seconds=1))
    assert reference(layers, state, before, overrides) is isinstance(result, Open)


@settings(max_examples=20, deadline=None)
@given(st.lists(weeks(), min_size=1, max_size=2), st.sampled_from(STATES), moments)
def test_a_week_minute_by_minute_agrees_with_the_reference(
    layers: list[Week], state: str | None, at: datetime
) -> None:
    schedule = schedule_of(layers, state)
    moment = at.replace(second=0, microsecond=0)
    result = status(schedule, moment)
    expected_change = result.until if isinstance(result, Open) else result.next_open
    current = reference(layers, state, moment)
    assert isinstance(result, Open) == current
    for _ in range(7 * 24 * 60):
        moment += timedelta(minutes=1)
        value = reference(layers, state, moment)
        assert is_open(schedule, moment) == value
        if value != current:
            # Boundaries are whole local minutes and offsets whole hours: the change found by
            # stepping is exactly the one `status` announced.
            assert expected_change == moment
            current = value
            result = status(schedule, moment)
            expected_change = result.until if isinstance(result, Open) else result.next_open
    assert expected_change is None or expected_change > moment


@pytest.mark.parametrize("state", get_args(FederalState))
def test_every_state_of_the_config_has_its_holidays(state: str) -> None:
    # New Year is a holiday everywhere: the state codes of the config are the package's.
    assert holiday_name(state, date(2027, 1, 1)) == "Neujahr"


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(1, 20 * 24 * 60))
def test_the_sentence_names_the_day_and_time_of_berlin(at: datetime, minutes: int) -> None:
    then = (at + timedelta(minutes=minutes)).astimezone(BERLIN)
    sentence = next_open_sentence(at, then)
    assert sentence.startswith("Wir sind ") and sentence.endswith(" Uhr wieder für Sie da.")
    time_said = f"{then.hour} Uhr" if then.minute == 0 else f"{then.hour}:{then.minute:02d} Uhr"
    assert f"ab {time_said}" in sentence or f", {time_said}" in sentence
    days = (then.date() - at.astimezone(BERLIN).date()).days
    if days >= 2:
        assert WEEKDAYS_DE[then.weekday()] in sentence
        assert (f"{then.day}." in sentence) == (days >= 7)


@settings(max_examples=60, deadline=None)
@given(setups())
def test_every_announcement_is_among_those_rendered_ahead(setup: Setup) -> None:
    layers, state, at, overrides = setup
    schedule = schedule_of(layers, state)
    result = status(schedule, at, overrides)
    if isinstance(result, Closed):
        ahead = closed_texts(schedule, at, 1, overrides=overrides)
        assert closed_announcement(result, at) in ahead


def test_announcements_rendered_ahead_for_a_week() -> None:
    since = berlin("2026-06-01T00:00")  # a Monday; Thursday is Corpus Christi
    texts = closed_texts(Schedule((LUNCH,), "NW"), since, 7)
    intro = "Sie rufen außerhalb unserer Servicezeiten an. "
    assert texts == {
        intro + "Wir sind heute ab 7:30 Uhr wieder für Sie da.",
        intro + "Wir sind heute ab 13 Uhr wieder für Sie da.",
        intro + "Wir sind morgen ab 7:30 Uhr wieder für Sie da.",
        intro + "Wir sind ab Freitag, 7:30 Uhr wieder für Sie da.",
        intro + "Wir sind ab Montag, 7:30 Uhr wieder für Sie da.",
        "Heute ist ein gesetzlicher Feiertag: Fronleichnam. "
        "Wir sind morgen ab 7:30 Uhr wieder für Sie da.",
    }
