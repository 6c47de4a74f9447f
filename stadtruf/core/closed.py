"""Is the line closed for this call, and what does the caller get then? (opening hours)

Pure: the moment of the call (`at`, from the adapter's injected clock) and the overrides in
force (read by the adapter from its store) come in as arguments. The call flow asks twice:

1. once the client is known (directly or after the town menu): the client's hours;
2. when the menu routes to a topic (queue, transfer): the client's and the topic's hours
   together; a closed topic gets the topic's `when_closed` (else the client's).

A closed call hears the closed announcement (why, and when the line opens next, from
`hours_text`), then the configured action: hang up, transfer, voicemail or callback request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from stadtruf.config.model import Client, ClosedTransfer, ServiceCenter, WhenClosed
from stadtruf.config.schedule import schedule_for, when_closed_for
from stadtruf.core.hours import (
    BERLIN,
    DAY_MINUTES,
    Closed,
    Override,
    Schedule,
    applicable,
    parse_clock,
    status,
)
from stadtruf.core.hours_text import closed_announcement, closed_texts

ClosedAction = Literal["hangup", "transfer", "voicemail", "callback"]
# How many days of closed announcements are rendered ahead (a week plus a day's margin).
RENDER_DAYS = 8


@dataclass(frozen=True)
class ClosedPlan:
    """What a caller meets on a closed line."""

    text: str  # the whole closed announcement, in the call's language
    action: ClosedAction
    target: str  # the transfer target; for voicemail/callback the callback list's topic
    reason: str  # hours, holiday, exception, override


def closed_plan(
    client: Client,
    center: ServiceCenter,
    topic: str | None,
    at: datetime | None,
    overrides: Sequence[Override],
    language: str,
) -> ClosedPlan | None:
    """None while the line is open for `client` (about `topic`) at `at`; None without `at`
    (a caller of the flow that knows no time: always open)."""
    if at is None:
        return None
    own = applicable(overrides, client.id, topic)
    result = status(schedule_for(client, center, topic), at, own)
    if not isinstance(result, Closed):
        return None
    client_open = topic is not None and not isinstance(
        status(schedule_for(client, center), at, applicable(overrides, client.id)), Closed
    )
    handling = when_closed_for(client, center, topic, client_open)
    text = closed_announcement(result, at, language, _intro(handling, language))
    action = handling.action
    if isinstance(action, ClosedTransfer):
        return ClosedPlan(text, "transfer", action.transfer, result.reason.kind)
    target = action if action == "hangup" else (handling.topic or topic or "")
    return ClosedPlan(text, action, target, result.reason.kind)


def _intro(handling: WhenClosed, language: str) -> str | None:
    if handling.prompt is None:
        return None
    return handling.prompt.text_for(language)


def closed_schedules(
    client: Client, center: ServiceCenter
) -> list[tuple[str | None, Schedule, WhenClosed]]:
    """Every schedule a call to `client` may meet: the client's, and with each topic that has
    hours of its own (with the handling the caller would get)."""
    found: list[tuple[str | None, Schedule, WhenClosed]] = [
        (None, schedule_for(client, center), client.when_closed)
    ]
    topics = set(client.topic_hours) | {t for t, v in center.topics.items() if v.hours}
    for topic in sorted(topics):
        handling = when_closed_for(client, center, topic, True)
        found.append((topic, schedule_for(client, center, topic), handling))
    return found


def closed_spoken(
    clients: Sequence[Client],
    center: ServiceCenter,
    since: datetime,
    days: int = RENDER_DAYS,
    overrides: Sequence[Override] = (),
) -> set[tuple[str, str]]:
    """(text, language) of every closed announcement from `since` for `days` days: what to
    render as speech ahead of time."""
    texts: set[tuple[str, str]] = set()
    for client in clients:
        if client.hours is None and not client.topic_hours and not overrides:
            if not any(t.hours for t in center.topics.values()):
                continue
        for topic, schedule, handling in closed_schedules(client, center):
            own = applicable(overrides, client.id, topic)
            for language in client.languages:
                intro = _intro(handling, language)
                for text in closed_texts(schedule, since, days, language, intro, own):
                    texts.add((text, language))
    return texts


def parse_moment(text: str, now: datetime) -> datetime:
    """`12:00` (today, Berlin time), `2026-06-04T12:00` or `2026-06-04 12:00` (Berlin unless a
    zone is given) → an aware moment; ValueError with a German message otherwise."""
    text = text.strip()
    minute = parse_clock(text)
    if minute is not None:
        day = now.astimezone(BERLIN).date()
        if minute == DAY_MINUTES:
            return datetime.combine(day + timedelta(days=1), time(0, 0), BERLIN)
        return datetime.combine(day, time(minute // 60, minute % 60), BERLIN)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"'{text}' ist keine Zeit (HH:MM für heute oder JJJJ-MM-TTTHH:MM)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BERLIN)


def new_override(
    now: datetime,
    until: str,
    *,
    start: str | None = None,
    client: str | None = None,
    topic: str | None = None,
    reason: str = "",
    state: Literal["closed", "open"] = "closed",
) -> Override:
    """An override from the admin's words (`--from 12:00 --until 14:00`); from now if no
    start. ValueError with a German message for anything the admin must correct."""
    begin = parse_moment(start, now) if start else now
    end = parse_moment(until, now)
    if end <= begin:
        raise ValueError(f"Ende ({until}) liegt nicht nach dem Beginn")
    if end <= now:
        raise ValueError(f"Ende ({until}) liegt in der Vergangenheit")
    return Override(state, begin, end, reason, client, topic)
