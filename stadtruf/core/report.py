"""The monthly (or yearly) report's figures, collected in one pass over the call records. Pure.

`collect` reads each call once and tallies it per client, topic and local day
(`service_figures.Tally`, the one rule), plus the calls per hour of day, the wait-time
distribution and the billed minutes per client. Everything the report shows is summed up from
those: a client's month is the sum of its days and topics. Memory grows with clients × topics
× days, not with calls, so a year of a million calls is a few thousand tallies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from stadtruf.core.billing import Bill, Tariff, bill, billed_minutes
from stadtruf.core.service_figures import Facts, LocalClock, Rules, Tally, merged
from stadtruf.core.service_level import Target

# Upper edges (seconds) of the wait-time bins of offered calls; the last bin is open.
WAIT_BINS: tuple[int, ...] = (10, 20, 30, 60, 120, 300)
WAIT_LABELS = ("bis 10 s", "10–20 s", "20–30 s", "30–60 s", "1–2 min", "2–5 min", "über 5 min")


def wait_bin(wait_s: float) -> int:
    """Index of the bin `wait_s` falls in: (0, 10] → 0 … (120, 300] → 5, above → 6; 0 s → 0."""
    for i, edge in enumerate(WAIT_BINS):
        if wait_s <= edge:
            return i
    return len(WAIT_BINS)


@dataclass
class ClientData:
    """What one pass collects for one client (None: calls no client was found for)."""

    tallies: dict[tuple[str | None, datetime], Tally] = field(default_factory=dict)
    per_hour: list[int] = field(default_factory=lambda: [0] * 24)
    waits: list[int] = field(default_factory=lambda: [0] * (len(WAIT_BINS) + 1))
    minutes: int = 0

    @property
    def month(self) -> Tally:
        return merged(self.tallies.values())

    def by_day(self) -> dict[datetime, Tally]:
        days: dict[datetime, Tally] = {}
        for (_, day), tally in self.tallies.items():
            days.setdefault(day, Tally()).merge(tally)
        return days

    def by_topic(self) -> dict[str | None, Tally]:
        topics: dict[str | None, Tally] = {}
        for (topic, _), tally in self.tallies.items():
            topics.setdefault(topic, Tally()).merge(tally)
        return topics


def collect(
    calls: Iterable[Facts],
    rules: Callable[[str | None], Rules],
    clock: LocalClock | None = None,
) -> dict[str | None, ClientData]:
    """One pass over `calls`: per client its tallies by (topic, day), hours, waits, minutes."""
    clock = clock or LocalClock()
    result: dict[str | None, ClientData] = {}
    known: dict[str | None, Rules] = {}
    for call in calls:
        client = call.client
        data = result.get(client)
        if data is None:
            data = result[client] = ClientData()
            known[client] = rules(client)
        day, hour = clock.day_and_hour(call.arrived_at)
        key = (call.topic, day)
        tally = data.tallies.get(key)
        if tally is None:
            tally = data.tallies[key] = Tally()
        tally.add(call, known[client])
        data.per_hour[hour] += 1
        if call.queued_at is not None:
            data.waits[wait_bin(call.wait_s or 0.0)] += 1
        if call.ended_at is not None:
            data.minutes += billed_minutes(call.ended_at - call.arrived_at)
    return result


@dataclass(frozen=True)
class ClientSettings:
    """What the config says about a client, for the report."""

    name: str
    target: Target
    tariff: Tariff | None


def client_bill(data: ClientData, settings: ClientSettings | None, months: int) -> Bill | None:
    if settings is None or settings.tariff is None:
        return None
    return bill(settings.tariff, data.month.calls, data.minutes, months)


def top_topics(data: ClientData, limit: int = 10) -> list[tuple[str | None, Tally]]:
    """Topics by calls, most first (ties by name, no topic last)."""
    topics = data.by_topic().items()
    return sorted(topics, key=lambda item: (-item[1].calls, item[0] is None, item[0] or ""))[:limit]


def months_between(first: str, last: str) -> int:
    """Months `YYYY-MM` from `first` to `last`, both included."""
    a = datetime.strptime(first, "%Y-%m")
    b = datetime.strptime(last, "%Y-%m")
    return (b.year - a.year) * 12 + b.month - a.month + 1


def client_order(data: Mapping[str | None, ClientData], known: Iterable[str]) -> list[str | None]:
    """Configured clients in config order, then unknown ids, calls without client last."""
    order: list[str | None] = [c for c in known if c in data]
    order += sorted(c for c in data if c is not None and c not in order)
    if None in data:
        order.append(None)
    return order
