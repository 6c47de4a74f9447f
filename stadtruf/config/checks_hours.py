"""Rules for opening hours that need a whole `hours:` block or another file.

Single values (a time, a weekday, a date) are refused by the model itself (`hours.py`); here:
a weekday given twice, overlapping intervals, the same exception twice, and topics named in
`topic_hours` and `when_closed` that service-center.yaml does not have.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from stadtruf.config.hours import WEEKDAY_NAMES, HoursConfig, weekdays_of
from stadtruf.config.model import Client, ServiceCenter, WhenClosed
from stadtruf.config.problems import Problem
from stadtruf.config.yamlsource import Source
from stadtruf.core.hours import Interval

Loc = tuple[str | int, ...]


def check_hours(
    center_src: Source, center: ServiceCenter, clients: Sequence[tuple[Source, Client]]
) -> Iterator[Problem]:
    topics = sorted(center.topics)
    for topic_id, topic in center.topics.items():
        if topic.hours is not None:
            yield from _block(center_src, ("topics", topic_id, "hours"), topic.hours)
        if topic.when_closed is not None:
            loc = ("topics", topic_id, "when_closed")
            yield from _closed(center_src, loc, topic.when_closed, topics)
    for src, client in clients:
        if client.hours is not None:
            yield from _block(src, ("hours",), client.hours)
        for topic_id, hours in client.topic_hours.items():
            if topic_id not in center.topics:
                yield src.problem(
                    ("topic_hours", topic_id),
                    f"Thema '{topic_id}' gibt es nicht unter topics in service-center.yaml "
                    f"({_listing(topics)})",
                    key=True,
                )
            yield from _block(src, ("topic_hours", topic_id), hours)
        yield from _closed(src, ("when_closed",), client.when_closed, topics)


def _block(src: Source, loc: Loc, hours: HoursConfig) -> Iterator[Problem]:
    seen: dict[int, str] = {}  # weekday → the key that gave it first
    for key, intervals in hours.weekly.items():
        for day in weekdays_of(key):
            if day in seen:
                yield src.problem(
                    (*loc, "weekly", key),
                    f"{WEEKDAY_NAMES[day]} steht schon unter '{seen[day]}'; "
                    "je Tag alle Zeiten in einen Eintrag",
                    key=True,
                )
            else:
                seen[day] = key
        yield from _overlaps(src, (*loc, "weekly", key), intervals)
    first: dict[tuple[str, str], int] = {}
    for index, exception in enumerate(hours.exceptions):
        here = (*loc, "exceptions", index)
        yield from _overlaps(src, (*here, "hours"), exception.hours)
        core = exception.to_core()
        span = (str(core.first), str(core.last))
        if span in first:
            where = src.problem((*loc, "exceptions", first[span]), "")
            yield src.problem(
                here, f"dieselbe Ausnahme ({_span(*span)}) steht schon in Zeile {where.line}"
            )
        else:
            first[span] = index


def _overlaps(src: Source, loc: Loc, intervals: Sequence[str]) -> Iterator[Problem]:
    parsed = [(Interval.parse(text), i) for i, text in enumerate(intervals)]
    parsed.sort()
    for (before, _), (after, index) in itertools.pairwise(parsed):
        if after.start < before.end:
            yield src.problem(
                (*loc, index),
                f"'{intervals[index]}' überschneidet sich mit '{_text(before)}'",
            )


def _closed(src: Source, loc: Loc, closed: WhenClosed, topics: list[str]) -> Iterator[Problem]:
    if closed.topic is not None and closed.topic not in topics:
        yield src.problem(
            (*loc, "topic"),
            f"Thema '{closed.topic}' gibt es nicht unter topics in service-center.yaml "
            f"({_listing(topics)})",
        )


def _text(interval: Interval) -> str:
    return str(interval).replace("–", "-")


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first} bis {last}"


def _listing(names: list[str]) -> str:
    return "vorhanden: " + ", ".join(names) if names else "keine vorhanden"
