"""Opening hours: is the line open at a given moment, until when, and when does it open next.

Pure: the moment is an argument (never `datetime.now`), nothing is read or written. Hours are
wall-clock times in Europe/Berlin, as the town hall's door sign says: 7:30–18:00 means 7:30 to
18:00 local time in winter and in summer alike. A day's hours come from, first match wins:

1. an exception covering the date (closed, or other hours; the narrowest exception wins),
2. a public holiday of the client's federal state (closed, unless `closed_on_holidays` is off),
3. the weekly schedule.

A `Schedule` stacks layers: the client's hours, and a topic's hours that narrow them (open only
when every layer is open). An `Override` (set at run time, with an expiry) beats everything
while it is active; a closing override beats an opening one.

Intervals are half-open, [start, end): 17:59:59 inside 7:30–18:00 is open, 18:00:00 is closed.
DST: the wall clock is what counts. On 29 March 2026 2:00–3:00 does not exist (an interval
starting at 2:30 opens at 3:00); on 25 October 2026 2:00–3:00 happens twice (and is open both
times if an interval covers it). Midnight: 22:00–24:00 followed by 0:00–2:00 the next day is
one stretch, `Open.until` is 2:00.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

BERLIN = ZoneInfo("Europe/Berlin")
DAY_MINUTES = 24 * 60
# How far `status` looks for the next change. Beyond a year nothing new happens (annual
# exceptions repeat); a line closed longer than this has no next opening to announce.
HORIZON_DAYS = 400

WEEKDAYS_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


# --- Building blocks ----------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Interval:
    """Minutes since local midnight, [start, end); end may be 24:00 (1440)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= DAY_MINUTES:
            raise ValueError(
                f"{self.start}–{self.end} (Minuten): Ende nicht nach Beginn oder nicht in 0–24 Uhr"
            )

    @classmethod
    def parse(cls, text: str) -> Interval:
        """`"07:30-12:00"` (also with – or spaces); ValueError with a German message."""
        parts = text.replace("–", "-").split("-")
        if len(parts) != 2:
            raise ValueError(f"'{text}' ist kein Zeitraum (z. B. '07:30-12:00')")
        start, end = (parse_clock(p) for p in parts)
        if start is None or end is None:
            raise ValueError(
                f"'{text}' ist kein Zeitraum (Uhrzeiten als HH:MM, z. B. '07:30-12:00')"
            )
        if end <= start:
            raise ValueError(f"'{text}' endet vor seinem Beginn (über Mitternacht: zwei Einträge)")
        return cls(start, end)

    def contains(self, second_of_day: int) -> bool:
        return self.start * 60 <= second_of_day < self.end * 60

    def __str__(self) -> str:
        return f"{clock(self.start)}–{clock(self.end)}"


def parse_clock(text: str) -> int | None:
    """`"7:30"`, `"07:30"`, `"24:00"` → minutes since midnight; None if it is no time."""
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    value = int(hours) * 60 + int(minutes)
    return value if int(minutes) < 60 and value <= DAY_MINUTES else None


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def overlaps(intervals: Sequence[Interval]) -> tuple[Interval, Interval] | None:
    """The first two intervals that overlap (touching is fine), or None."""
    ordered = sorted(intervals)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            return before, after
    return None


@dataclass(frozen=True, order=True)
class MonthDay:
    """A date that repeats every year, e.g. 24 December."""

    month: int
    day: int

    def __post_init__(self) -> None:
        date(2024, self.month, self.day)  # a leap year: 29 February is a valid annual date

    def __str__(self) -> str:
        return f"{self.day}.{self.month}."


DateSpec = date | MonthDay


def parse_date(text: str) -> DateSpec:
    """`2026-12-24` or `24.12.2026` (once), `24.12.` (every year); ValueError otherwise."""
    text = text.strip()
    try:
        if "." not in text:
            return date.fromisoformat(text)
        day, month, year = text.split(".")
        if not year:
            return MonthDay(int(month), int(day))
        if len(year) == 4:
            return date(int(year), int(month), int(day))
    except ValueError:
        pass
    raise ValueError(
        f"'{text}' ist kein Datum (JJJJ-MM-TT oder TT.MM.JJJJ, jedes Jahr: TT.MM., z. B. 24.12.)"
    )


@dataclass(frozen=True)
class DateException:
    """Other hours from `first` to `last` (inclusive); no intervals means closed.

    Both dates are either concrete or annual; an annual range may run over New Year.
    """

    first: DateSpec
    last: DateSpec
    intervals: tuple[Interval, ...] = ()
    reason: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.first, MonthDay) != isinstance(self.last, MonthDay):
            raise ValueError("Beginn und Ende: beide mit Jahr oder beide ohne (jedes Jahr)")
        if isinstance(self.first, date) and isinstance(self.last, date) and self.last < self.first:
            raise ValueError(f"Zeitraum endet ({self.last}) vor seinem Beginn ({self.first})")

    def covers(self, day: date) -> bool:
        if isinstance(self.first, date) and isinstance(self.last, date):
            return self.first <= day <= self.last
        key = MonthDay(day.month, day.day)
        first, last = self.first, self.last
        assert isinstance(first, MonthDay) and isinstance(last, MonthDay)
        return first <= key <= last if first <= last else key >= first or key <= last

    @property
    def days(self) -> int:
        """Length in days, to let the narrowest exception win."""
        if isinstance(self.first, date) and isinstance(self.last, date):
            return (self.last - self.first).days + 1
        assert isinstance(self.first, MonthDay) and isinstance(self.last, MonthDay)
        first = date(2024, self.first.month, self.first.day)
        last = date(2024, self.last.month, self.last.day)
        return (last - first).days % 366 + 1


@dataclass(frozen=True)
class OpeningHours:
    """One layer: a week (Monday first, 7 entries) plus exceptions and holidays."""

    weekly: tuple[tuple[Interval, ...], ...]
    exceptions: tuple[DateException, ...] = ()
    closed_on_holidays: bool = True

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly needs 7 days, Monday first")

    @classmethod
    def weekdays(cls, *intervals: str, saturday: Iterable[str] = ()) -> OpeningHours:
        """Monday to Friday the same intervals (handy in tests and examples)."""
        day = tuple(Interval.parse(i) for i in intervals)
        return cls((day,) * 5 + (tuple(Interval.parse(i) for i in saturday), ()))


ALWAYS = OpeningHours(((Interval(0, DAY_MINUTES),),) * 7, closed_on_holidays=False)


@dataclass(frozen=True)
class Schedule:
    """Open when every layer is open: `(client,)` or `(client, topic)`; `()` is always open.

    `state` is the federal state (NW, SN, …) whose public holidays apply.
    """

    layers: tuple[OpeningHours, ...]
    state: str | None = None


@dataclass(frozen=True)
class Override:
    """Set at run time: closed (or open) from `start` until `end`, the expiry.

    For one client (or every client: None) and one topic (or the whole line: None). Kept as
    plain data (`to_dict`/`from_dict`), so a small JSON store can hold a list of them.
    """

    state: Literal["closed", "open"]
    start: datetime
    end: datetime
    reason: str = ""
    client: str | None = None
    topic: str | None = None
    id: str = ""  # for the store, to remove one again

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("override times need a time zone")
        # In UTC, so that comparisons are by the moment, not the wall clock (see `status`).
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end <= self.start:
            raise ValueError("override ends before it starts")

    def active(self, at: datetime) -> bool:
        return self.start <= at.astimezone(UTC) < self.end

    def to_dict(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "state": self.state,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reason": self.reason,
            "client": self.client,
            "topic": self.topic,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, str | None]) -> Override:
        """From `to_dict`'s form; ValueError (or KeyError) for anything else."""
        state, start, end = data["state"], data["start"], data["end"]
        if state not in ("closed", "open") or start is None or end is None:
            raise ValueError(f"not an override: {dict(data)!r}")
        return cls(
            "closed" if state == "closed" else "open",
            datetime.fromisoformat(start),
            datetime.fromisoformat(end),
            data.get("reason") or "",
            data.get("client"),
            data.get("topic"),
            data.get("id") or "",
        )


def applicable(
    overrides: Iterable[Override], client: str, topic: str | None = None
) -> tuple[Override, ...]:
    """The overrides for a call to `client` (about `topic`, once known): those for every
    client or this one, for the whole line or this topic."""
    return tuple(
        o for o in overrides if o.client in (None, client) and (o.topic is None or o.topic == topic)
    )


def current_overrides(overrides: Iterable[Override], at: datetime) -> tuple[Override, ...]:
    """Those not yet expired at `at` (what a store keeps)."""
    return tuple(o for o in overrides if o.end > at.astimezone(UTC))


# --- The decision -------------------------------------------------------------------------

ReasonKind = Literal["hours", "holiday", "exception", "override"]


@dataclass(frozen=True)
class Reason:
    """Why closed: outside the hours, a public holiday, an exception or an override."""

    kind: ReasonKind
    detail: str = ""  # the holiday's name, the exception's or override's reason


@dataclass(frozen=True)
class Open:
    until: datetime | None  # first moment closed; None: no closing within the horizon


@dataclass(frozen=True)
class Closed:
    reason: Reason
    next_open: datetime | None  # None: no opening within the horizon


Status = Open | Closed


def status(schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()) -> Status:
    """Open (until when) or closed (why, and when it opens next) at the moment `at`.

    `at` must carry a time zone. The returned times are in UTC: Python compares two datetimes
    of the same zone by their wall clock, which is wrong in October's repeated hour, so
    moments are kept in UTC and only shown in Berlin time.
    """
    if at.tzinfo is None:
        raise ValueError("status needs an aware datetime")
    at = at.astimezone(UTC)
    is_open, reason = _decide(schedule, overrides, at)
    change = _next_change(schedule, overrides, at, is_open)
    if is_open:
        return Open(change)
    assert reason is not None
    return Closed(reason, change)


def is_open(schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()) -> bool:
    """Only the yes/no of `status`, without looking ahead."""
    if at.tzinfo is None:
        raise ValueError("is_open needs an aware datetime")
    return _decide(schedule, overrides, at.astimezone(UTC))[0]


def day_hours(hours: OpeningHours, day: date, state: str | None) -> tuple[Interval, ...]:
    """The hours of one layer on one date (exceptions and holidays applied)."""
    return _day(hours, day, state)[0]


def holiday_name(state: str | None, day: date) -> str | None:
    if state is None:
        return None
    return _holidays(state, day.year).get(day)


@functools.cache
def _holidays(state: str, year: int) -> Mapping[date, str]:
    # The package computes them (no I/O); cached per state and year since every lookup of a
    # status walks many days.
    table = holidays.country_holidays("DE", subdiv=state, years=year, language="de")
    return dict(table.items())


def _day(hours: OpeningHours, day: date, state: str | None) -> tuple[tuple[Interval, ...], Reason]:
    """A layer's intervals on `day`, and the reason if a moment of it is closed."""
    covering = [e for e in hours.exceptions if e.covers(day)]
    if covering:
        narrowest = min(covering, key=lambda e: e.days)  # min keeps the first on a tie
        return narrowest.intervals, Reason("exception", narrowest.reason)
    if hours.closed_on_holidays:
        name = holiday_name(state, day)
        if name is not None:
            return (), Reason("holiday", name)
    return hours.weekly[day.weekday()], Reason("hours")


def _decide(
    schedule: Schedule, overrides: Sequence[Override], at: datetime
) -> tuple[bool, Reason | None]:
    active = [o for o in overrides if o.active(at)]
    closing = next((o for o in active if o.state == "closed"), None)
    if closing is not None:
        return False, Reason("override", closing.reason)
    if active:
        return True, None
    local = at.astimezone(BERLIN)
    second = local.hour * 3600 + local.minute * 60 + local.second
    for layer in schedule.layers:
        intervals, reason = _day(layer, local.date(), schedule.state)
        if not any(i.contains(second) for i in intervals):
            return False, reason
    return True, None


def _next_change(
    schedule: Schedule, overrides: Sequence[Override], at: datetime, now_open: bool
) -> datetime | None:
    """The first moment after `at` at which the line is `not now_open`.

    The answer can only change where the wall clock passes a boundary of that day's hours,
    at midnight, at a DST switch or at an override's start or end: those candidates are
    checked in order, day by day.
    """
    first_day = at.astimezone(BERLIN).date()
    for candidates in _days(schedule, overrides, first_day, HORIZON_DAYS, now_open):
        for moment in candidates:
            if moment > at and _decide(schedule, overrides, moment)[0] != now_open:
                return moment
    return None


def change_points(
    schedule: Schedule, since: datetime, days: int, overrides: Sequence[Override] = ()
) -> Iterator[datetime]:
    """Every moment from the Berlin day of `since` on, for `days` days, at which the status,
    its reason or the day it is announced from may change (UTC, in order).

    Sampling `status` at these moments finds every closed announcement the window can need,
    e.g. to render them as speech ahead of time.
    """
    first_day = since.astimezone(UTC).astimezone(BERLIN).date()
    for candidates in _days(schedule, overrides, first_day, days, None):
        yield from candidates


def _days(
    schedule: Schedule,
    overrides: Sequence[Override],
    first_day: date,
    count: int,
    skip_if: bool | None,
) -> Iterator[list[datetime]]:
    """Day by day, the moments of the Berlin day at which the answer can change, in order:
    midnight, where the wall clock passes a boundary of the day's hours, a DST switch, an
    override's start or end. Days whose hours keep them `skip_if` (open or closed) all day,
    untouched by overrides, are passed over (a line closed for weeks is not looked at hour by
    hour)."""
    marks = sorted({t for o in overrides for t in (o.start, o.end)})
    begin = _midnight(first_day)
    for offset in range(count):
        day = first_day + timedelta(days=offset)
        end = _midnight(day + timedelta(days=1))
        day_marks = [t for t in marks if begin <= t < end]
        hours = [_day(layer, day, schedule.state)[0] for layer in schedule.layers]
        overridden = day_marks or any(o.active(begin) for o in overrides)
        if overridden or skip_if is None or not _all_day(hours, skip_if):
            candidates = {begin, *day_marks, *_dst_switch(begin, end)}
            for intervals in hours:
                for interval in intervals:
                    candidates.update(_wall_instants(day, interval.start))
                    candidates.update(_wall_instants(day, interval.end))
            yield sorted(t for t in candidates if begin <= t < end)
        begin = end


def _all_day(hours: Sequence[tuple[Interval, ...]], now_open: bool) -> bool:
    """Whether the layers' hours keep the whole day `now_open`."""
    if now_open:
        return all(intervals == (Interval(0, DAY_MINUTES),) for intervals in hours)
    return any(not intervals for intervals in hours)


def _midnight(day: date) -> datetime:
    # Berlin switches at 2:00/3:00, so midnight always exists, exactly once.
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)


def _wall_instants(day: date, minute: int) -> list[datetime]:
    """The moments (UTC) at which the Berlin wall clock shows `minute` on `day`: one, two
    (the repeated hour in October) or none (the skipped hour in March)."""
    if minute == DAY_MINUTES:
        day, minute = day + timedelta(days=1), 0
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    found: list[datetime] = []
    for fold in (0, 1):
        moment = wall.replace(tzinfo=BERLIN, fold=fold).astimezone(UTC)
        if moment.astimezone(BERLIN).replace(tzinfo=None) == wall and moment not in found:
            found.append(moment)
    return sorted(found)


def _dst_switch(begin: datetime, end: datetime) -> Iterator[datetime]:
    """The moment in [begin, end) at which Berlin's UTC offset changes, if any."""
    before, after = begin.astimezone(BERLIN).utcoffset(), end.astimezone(BERLIN).utcoffset()
    if before == after:
        return
    low, high = int(begin.timestamp()), int(end.timestamp())
    while high - low > 1:  # the offset at `high` is already the new one
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(BERLIN).utcoffset() == after:
            high = middle
        else:
            low = middle
    yield datetime.fromtimestamp(high, UTC)
