"""What a caller hears outside the opening hours: why, and when the line opens next.

Pure: `at` (the moment of the call) and the decision from `stadtruf.core.hours` go in, a
sentence comes out, to be spoken like any other prompt text (`SpokenText`). Worded as a town
hall's answering machine says it: "Wir sind morgen ab 7:30 Uhr wieder für Sie da."
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from stadtruf.core.hours import (
    BERLIN,
    WEEKDAYS_DE,
    Closed,
    Override,
    Schedule,
    change_points,
    status,
)

WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_DE = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Within a week the weekday alone is unambiguous; further off the date is said too.
_WEEK = 7


def next_open_sentence(at: datetime, next_open: datetime | None, language: str = "de") -> str:
    """ "Wir sind heute ab 13 Uhr / morgen ab 7:30 Uhr / ab Montag, 7:30 Uhr wieder für Sie da."

    English for `en`, German otherwise (the client's other languages fall back to German
    rather than to silence).
    """
    english = language == "en"
    if next_open is None:
        return "Please call again later." if english else "Bitte rufen Sie später wieder an."
    now, then = at.astimezone(BERLIN), next_open.astimezone(BERLIN)
    days = (then.date() - now.date()).days
    if english:
        # The time before the day: a sentence ending in "a.m." would read "a.m.."
        when = _clock_en(then)
        if days == 0:
            return f"We will be available again from {when} today."
        if days == 1:
            return f"We will be available again from {when} tomorrow."
        day = WEEKDAYS_EN[then.weekday()]
        if days >= _WEEK:
            day += f", {MONTHS_EN[then.month - 1]} {then.day}"
        return f"We will be available again from {when} on {day}."
    when = _clock_de(then)
    if days == 0:
        return f"Wir sind heute ab {when} wieder für Sie da."
    if days == 1:
        return f"Wir sind morgen ab {when} wieder für Sie da."
    day = WEEKDAYS_DE[then.weekday()]
    if days >= _WEEK:
        day += f", {then.day}. {MONTHS_DE[then.month - 1]}"
    return f"Wir sind ab {day}, {when} wieder für Sie da."


def closed_announcement(
    closed: Closed, at: datetime, language: str = "de", intro: str | None = None
) -> str:
    """The whole closed announcement: why (or the admin's own `intro`), then when we open."""
    english = language == "en"
    if intro is None:
        intro = _reason_en(closed) if english else _reason_de(closed)
    return f"{intro} {next_open_sentence(at, closed.next_open, language)}"


def closed_texts(
    schedule: Schedule,
    since: datetime,
    days: int,
    language: str = "de",
    intro: str | None = None,
    overrides: Sequence[Override] = (),
) -> set[str]:
    """Every closed announcement a call may hear from the Berlin day of `since` on, for `days`
    days: what to render as speech ahead of time (the text changes only at `change_points`)."""
    texts = set()
    for moment in change_points(schedule, since, days, overrides):
        result = status(schedule, moment, overrides)
        if isinstance(result, Closed):
            texts.add(closed_announcement(result, moment, language, intro))
    return texts


def _reason_de(closed: Closed) -> str:
    reason = closed.reason
    if reason.kind == "hours":
        return "Sie rufen außerhalb unserer Servicezeiten an."
    if reason.kind == "holiday":
        return f"Heute ist ein gesetzlicher Feiertag: {reason.detail}."
    # Exceptions and overrides: the admin's reason is a label for colleagues, not for callers.
    return "Unser Servicetelefon ist zurzeit nicht besetzt."


def _reason_en(closed: Closed) -> str:
    kind = closed.reason.kind
    if kind == "hours":
        return "You are calling outside our opening hours."
    if kind == "holiday":
        return "Today is a public holiday."
    return "Our service line is not staffed at the moment."


def _clock_de(moment: datetime) -> str:
    # Spoken German says "13 Uhr", not "13:00 Uhr"; "7:30 Uhr" with the minutes.
    if moment.minute == 0:
        return f"{moment.hour} Uhr"
    return f"{moment.hour}:{moment.minute:02d} Uhr"


def _clock_en(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "a.m." if moment.hour < 12 else "p.m."
    if moment.minute == 0:
        return f"{hour} {suffix}"
    return f"{hour}:{moment.minute:02d} {suffix}"
