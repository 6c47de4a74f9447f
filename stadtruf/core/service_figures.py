"""Service figures per client, topic and interval, from call records. Pure.

The one place that turns call records into the figures a service center is judged by; the
report, the API and the metrics all use it. A `Tally` adds calls up (and tallies add up with
`merge`, so a month is the sum of its days); `figures` turns one into shares and averages.

Per call (`Facts`, the columns the store streams):

- **calls**: every call of the client, menu-only ones too (what the bill counts).
- **offered**: the call reached a queue (`queued_at` set): offered to the agents.
- **answered**: an agent answered it; **within target**: after at most the client's
  threshold (`Rules.threshold_s`, e.g. 30 s).
- **abandoned**: the caller hung up waiting (in the queue or while an agent's phone rang);
  **short abandons** are those who hung up after less than `Rules.short_abandon_s` (e.g. 5 s):
  counted apart and left out of the service level, as call centers do.
- The other offered calls left the queue another way (overflow, callback, voicemail, a
  transfer, lost at a restart): they count against the service level like any call not
  answered in time.

    service level = answered within threshold / (offered − short abandons)

This is `service_level.service_level` with `count_abandoned="all"` after taking out the short
abandons. **ASA** (average speed of answer) is the mean wait of answered calls, **AHT**
(average handling time) the mean talk plus wrap-up of answered calls, the **longest wait** the
longest any offered caller waited, the **first-level share** the share of answered calls the
agent did not pass on to an office (a transfer to a phone number).

Intervals are local time in Europe/Berlin (15 min, hour, day, month), DST-safe: a day is a
calendar day of 23, 24 or 25 hours; the hour 2:00–3:00 of the October change happens twice
and is kept as two intervals (their starts differ in UTC offset).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
Interval = Literal["15min", "hour", "day", "month"]
INTERVALS: tuple[Interval, ...] = ("15min", "hour", "day", "month")

ABANDONED = frozenset({"abandoned_queue", "abandoned_ringing"})
DEFAULT_SHORT_ABANDON_S = 5.0
# A transfer target starting so is a phone number (an office), else a colleague (agent name).
OFFICE_PREFIXES = ("0", "+")


class Facts(NamedTuple):
    """The columns of a call record the figures need, in the order the store selects them."""

    client: str | None
    topic: str | None
    arrived_at: float
    ended_at: float | None
    outcome: str | None
    queued_at: float | None
    wait_s: float | None
    talk_s: float | None
    wrap_up_s: float | None
    transferred_by: str | None
    transfer_target: str | None


FACT_COLUMNS: tuple[str, ...] = Facts._fields


@dataclass(frozen=True)
class Rules:
    threshold_s: float  # the client's target seconds (answered within)
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S


def to_office(transferred_by: str | None, target: str | None) -> bool:
    """Whether the agent passed the call on to an office (a number), not to a colleague."""
    return transferred_by == "agent" and target is not None and target[:1] in OFFICE_PREFIXES


@dataclass(slots=True)
class Tally:
    calls: int = 0
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0  # short abandons included
    short_abandoned: int = 0
    wait_answered_s: float = 0.0
    handled_s: float = 0.0
    longest_wait_s: float = 0.0
    first_level: int = 0

    def add(self, call: Facts, rules: Rules) -> None:
        """Count one call (the per-call rule of the module docstring)."""
        self.calls += 1
        if call.queued_at is None:
            return
        self.offered += 1
        wait = call.wait_s or 0.0
        if wait > self.longest_wait_s:
            self.longest_wait_s = wait
        if call.outcome == "answered":
            self.answered += 1
            self.wait_answered_s += wait
            self.handled_s += (call.talk_s or 0.0) + (call.wrap_up_s or 0.0)
            if wait <= rules.threshold_s:
                self.answered_within += 1
            if not to_office(call.transferred_by, call.transfer_target):
                self.first_level += 1
        elif call.outcome in ABANDONED:
            self.abandoned += 1
            if wait < rules.short_abandon_s:
                self.short_abandoned += 1

    def merge(self, other: Tally) -> Tally:
        """Add `other` into this tally (returns self)."""
        self.calls += other.calls
        self.offered += other.offered
        self.answered += other.answered
        self.answered_within += other.answered_within
        self.abandoned += other.abandoned
        self.short_abandoned += other.short_abandoned
        self.wait_answered_s += other.wait_answered_s
        self.handled_s += other.handled_s
        self.longest_wait_s = max(self.longest_wait_s, other.longest_wait_s)
        self.first_level += other.first_level
        return self


@dataclass(frozen=True)
class Figures:
    calls: int
    offered: int
    answered: int
    answered_within: int
    abandoned: int
    short_abandoned: int
    service_level: float | None  # 0..1; None when no call counts
    asa_s: float | None
    aht_s: float | None
    longest_wait_s: float | None
    first_level_share: float | None
    abandon_rate: float | None  # abandoned (not short) / (offered − short abandons)


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def figures(t: Tally) -> Figures:
    counted = t.offered - t.short_abandoned
    return Figures(
        calls=t.calls,
        offered=t.offered,
        answered=t.answered,
        answered_within=t.answered_within,
        abandoned=t.abandoned,
        short_abandoned=t.short_abandoned,
        service_level=_share(t.answered_within, counted),
        asa_s=_share(t.wait_answered_s, t.answered),
        aht_s=_share(t.handled_s, t.answered),
        longest_wait_s=t.longest_wait_s if t.offered else None,
        first_level_share=_share(t.first_level, t.answered),
        abandon_rate=_share(t.abandoned - t.short_abandoned, counted),
    )


def merged(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        total.merge(t)
    return total


# --- Intervals in local time -------------------------------------------------------------


class LocalClock:
    """Local (Europe/Berlin) interval starts of epoch seconds, cached per UTC hour.

    German offsets are whole hours and change only on a whole UTC hour, so every UTC hour is
    one local hour: the zone is consulted once per hour of data, not once per call. Starts are
    returned with a fixed UTC offset (`timezone(+02:00)`), so the doubled October hour gives
    two distinct starts (aware datetimes of one zone would compare equal).
    """

    def __init__(self, zone: ZoneInfo = BERLIN) -> None:
        self.zone = zone
        self._hours: dict[int, tuple[datetime, datetime, datetime]] = {}

    def _starts(self, ts: float) -> tuple[datetime, datetime, datetime]:
        key = int(ts // 3600)
        starts = self._hours.get(key)
        if starts is None:
            hour = datetime.fromtimestamp(key * 3600, UTC).astimezone(self.zone)
            day = hour.replace(hour=0, tzinfo=None)
            starts = (
                _fixed(hour),
                _fixed(day.replace(tzinfo=self.zone)),  # midnight gets its own offset
                _fixed(day.replace(day=1, tzinfo=self.zone)),
            )
            self._hours[key] = starts
        return starts

    def start(self, ts: float, interval: Interval) -> datetime:
        """The local start of the interval `ts` falls in."""
        hour, day, month = self._starts(ts)
        if interval == "hour":
            return hour
        if interval == "15min":
            return hour + timedelta(minutes=int(ts % 3600 // 900) * 15)
        return day if interval == "day" else month

    def day_and_hour(self, ts: float) -> tuple[datetime, int]:
        """Local day start and hour of day (0..23) of `ts`: the report's two groupings."""
        hour, day, _ = self._starts(ts)
        return day, hour.hour


def _fixed(local: datetime) -> datetime:
    offset = local.utcoffset()
    assert offset is not None
    return local.astimezone(timezone(offset))


def period(month: str, zone: ZoneInfo = BERLIN) -> tuple[float, float]:
    """Epoch seconds [start, end) of a local month `YYYY-MM` (ValueError otherwise)."""
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=zone)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.timestamp(), following.timestamp()


def days_of(start: float, end: float, zone: ZoneInfo = BERLIN) -> list[datetime]:
    """Local midnights of every day in [start, end), with fixed offsets like `LocalClock`."""
    day = datetime.fromtimestamp(start, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    result = []
    while day.timestamp() < end:
        result.append(_fixed(day))
        day = (day.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
    return result


def offsets(start: float, end: float, zone: ZoneInfo = BERLIN) -> list[tuple[float, int]]:
    """The zone's UTC offsets over [start, end): (from epoch second, offset seconds), in order.

    For a database to compute local time without knowing the zone (the report's SQL): the
    offset changes only on whole UTC hours, so checking every hour finds every change."""
    hour = float(int(start // 3600) * 3600)

    def offset(ts: float) -> int:
        delta = datetime.fromtimestamp(ts, zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    result = [(start, offset(start))]
    while hour < end:
        current = offset(hour)
        if current != result[-1][1]:
            result.append((hour, current))
        hour += 3600
    return result


@functools.lru_cache(maxsize=4096)
def local_midnight(day_number: int, zone: ZoneInfo = BERLIN) -> datetime:
    """Local day `day_number` (days since 1970-01-01 in local wall time) as a start like
    `LocalClock`'s."""
    day = datetime(1970, 1, 1) + timedelta(days=day_number)
    return _fixed(day.replace(tzinfo=zone))


Key = tuple[str | None, str | None, datetime]


def aggregate(
    calls: Iterable[Facts],
    rules: Callable[[str | None], Rules],
    interval: Interval,
    *,
    by_topic: bool = True,
    clock: LocalClock | None = None,
) -> dict[Key, Tally]:
    """Tallies per (client, topic or None, local interval start); `rules(client)` gives the
    client's rules (its own threshold)."""
    clock = clock or LocalClock()
    result: dict[Key, Tally] = {}
    known: dict[str | None, Rules] = {}
    for call in calls:
        client = call.client
        rule = known.get(client)
        if rule is None:
            rule = known[client] = rules(client)
        key = (client, call.topic if by_topic else None, clock.start(call.arrived_at, interval))
        tally = result.get(key)
        if tally is None:
            tally = result[key] = Tally()
        tally.add(call, rule)
    return result
