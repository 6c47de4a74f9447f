"""The `hours:` block of a client or topic, as the admin writes it, and its core form.

```yaml
hours:
  weekly:
    mo-fr: ["07:30-12:00", "13:00-18:00"]
    sa: "09:00-12:00"
  exceptions:
    - {date: "24.12.", reason: Heiligabend}            # every year, closed
    - {from: 2026-12-28, to: 2026-12-30, hours: "08:00-12:00", reason: Zwischen den Jahren}
  closed_on_holidays: true
```

What one value can get wrong (a time, a weekday, a date) is refused here, at its own line;
what needs the whole block (a weekday twice, overlapping intervals) is in `checks_hours.py`.
Kept apart from `model.py`, which imports it, so this module needs nothing from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from stadtruf.core.hours import DateException, Interval, OpeningHours, parse_date

WEEKDAY_KEYS = ("mo", "di", "mi", "do", "fr", "sa", "so")
WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def weekdays_of(key: str) -> tuple[int, ...]:
    """`"mo-fr"` → (0, 1, 2, 3, 4); `"sa"` → (5,); `"mo,mi"` → (0, 2). ValueError otherwise."""
    days: list[int] = []
    for part in key.strip().lower().replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if first not in WEEKDAY_KEYS or (dash and last not in WEEKDAY_KEYS):
            raise ValueError(
                f"'{key}' ist kein Wochentag: mo, di, mi, do, fr, sa, so, "
                "Bereiche wie mo-fr, Listen wie mo,mi"
            )
        start = WEEKDAY_KEYS.index(first)
        stop = WEEKDAY_KEYS.index(last) if dash else start
        if stop < start:
            raise ValueError(f"'{key}': Bereich rückwärts (über Sonntag hinaus: 'sa,so,mo')")
        days += range(start, stop + 1)
    return tuple(days)


def _weekday_key(value: str) -> str:
    weekdays_of(value)
    return value.strip().lower().replace(" ", "")


def _interval(value: str) -> str:
    interval = Interval.parse(value)
    return f"{_clock(interval.start)}-{_clock(interval.end)}"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _date(value: str) -> str:
    parse_date(value)
    return value.strip()


def _listify(value: Any) -> Any:
    # `mo-fr: "07:30-18:00"` is the common case; spare the admin the brackets.
    return [value] if isinstance(value, str) else value


WeekdayKey = Annotated[str, AfterValidator(_weekday_key)]
IntervalText = Annotated[
    str,
    AfterValidator(_interval),
    Field(description="Zeitraum HH:MM-HH:MM, z. B. '07:30-12:00'; Ende höchstens 24:00"),
]
IntervalList = Annotated[
    tuple[IntervalText, ...],
    BeforeValidator(_listify, json_schema_input_type=IntervalText | list[IntervalText]),
    Field(description="Ein Zeitraum oder eine Liste, z. B. ['07:30-12:00', '13:00-18:00']"),
]
DateText = Annotated[
    str,
    AfterValidator(_date),
    Field(description="Datum: 2026-12-24 oder 24.12.2026; jedes Jahr: 24.12."),
]


class HoursException(_Frozen):
    """A date or a range of dates with other hours (none: closed)."""

    date: DateText | None = Field(default=None, description="Ein einzelner Tag")
    first: DateText | None = Field(
        default=None, alias="from", description="Erster Tag eines Zeitraums (mit 'to')"
    )
    last: DateText | None = Field(
        default=None, alias="to", description="Letzter Tag eines Zeitraums (mit 'from')"
    )
    hours: IntervalList = Field(
        default=(), description="Öffnungszeiten an diesen Tagen; ohne: geschlossen"
    )
    reason: str = Field(
        default="", description="Grund für Kollegen und Auswertung, z. B. Heiligabend"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> HoursException:
        if self.date is not None and (self.first is not None or self.last is not None):
            raise ValueError("entweder 'date' oder 'from' und 'to', nicht beides")
        if self.date is None and (self.first is None or self.last is None):
            raise ValueError("'date' oder 'from' und 'to' angeben")
        self.to_core()  # refuses a range that ends before it starts, or mixes yearly and once
        return self

    def to_core(self) -> DateException:
        first = parse_date(self.date or self.first or "")
        last = parse_date(self.date or self.last or "")
        intervals = tuple(Interval.parse(i) for i in self.hours)
        return DateException(first, last, intervals, self.reason)


class HoursConfig(_Frozen):
    """Opening hours: a week, exceptions, and the public holidays of the client's state."""

    weekly: Annotated[dict[WeekdayKey, IntervalList], Field(min_length=1)] = Field(
        description="Zeiten je Wochentag (mo, di, mi, do, fr, sa, so; mo-fr); "
        "nicht genannte Tage sind geschlossen"
    )
    exceptions: tuple[HoursException, ...] = Field(
        default=(), description="Abweichende Tage: geschlossen oder andere Zeiten"
    )
    closed_on_holidays: bool = Field(
        default=True, description="An gesetzlichen Feiertagen des Bundeslands (state) geschlossen"
    )

    def days(self) -> Iterator[tuple[str, int, int, str]]:
        """(key, weekday, index, interval) for every interval as written, for checks."""
        for key, intervals in self.weekly.items():
            for day in weekdays_of(key):
                for index, interval in enumerate(intervals):
                    yield key, day, index, interval

    def to_core(self) -> OpeningHours:
        week: list[list[Interval]] = [[] for _ in WEEKDAY_KEYS]
        for _, day, _, interval in self.days():
            week[day].append(Interval.parse(interval))
        return OpeningHours(
            tuple(tuple(sorted(day)) for day in week),
            tuple(e.to_core() for e in self.exceptions),
            self.closed_on_holidays,
        )
