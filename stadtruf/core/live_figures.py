"""Live figures for the wallboard and Prometheus: the queue right now, the calls so far today.

Pure: queue snapshots (`QueueState`) and call records (`core.record`, folded from the calls'
life events) in, plain values out. The Prometheus adapter (`stadtruf.api.metrics`) and the
`/service-level` route only translate these.

Label values are bounded: a client or topic the config does not name becomes ``other`` (a
call not yet assigned to any client or topic: ``none``), an outcome not in
`record.OUTCOMES` becomes ``other``. Nothing a caller types or sends ends up as a label, so
the number of time series stays fixed by the config.

Today's service level is the same rule as the report's (`service_figures`), computed with
`service_level.service_level`: callers who hung up within `short_abandon_s` are left out,
every other offered call that was not answered within the client's threshold counts against
it. "Today" is the calendar day in Europe/Berlin of the injected wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from stadtruf.core.lifecycle import Happened
from stadtruf.core.queue import QueueState
from stadtruf.core.record import OUTCOMES, CallRecord
from stadtruf.core.record import step as record_step
from stadtruf.core.service_level import Target, Wait, service_level

BERLIN = ZoneInfo("Europe/Berlin")
OTHER = "other"  # a value the config does not name
NONE = "none"  # no client or topic (yet): the town menu, a call ended in the menu
# The agent states of `AgentState.status`, in the order a wallboard lists them.
AGENT_STATES = ("ready", "ringing", "busy", "wrapup", "paused", "logged_out")
# Fine around the usual thresholds (20 s Leipzig, 30 s 115 / Kreis Wesel): `le="20"` and
# `le="30"` are the calls within those targets; coarse beyond, up to typical max waits.
WAIT_BUCKETS = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
# Wait results for the histogram: answered, hung up waiting, or sent on (overflow, callback…).
ANSWERED, ABANDONED, LEFT = "answered", "abandoned", "left"
ABANDONED_OUTCOMES = frozenset({"abandoned_queue", "abandoned_ringing"})
DEFAULT_SHORT_ABANDON_S = 5.0


@dataclass(frozen=True)
class Labels:
    """The label values the config allows; everything else is mapped by `client`/`topic`."""

    clients: frozenset[str]
    topics: frozenset[str]

    def client(self, value: str | None) -> str:
        return _bounded(value, self.clients)

    def topic(self, value: str | None) -> str:
        return _bounded(value, self.topics)


def labels_of(clients: Iterable[str], topics: Iterable[str]) -> Labels:
    return Labels(frozenset(clients), frozenset(topics))


def _bounded(value: str | None, allowed: frozenset[str]) -> str:
    if not value:
        return NONE
    return value if value in allowed else OTHER


def outcome_label(outcome: str | None) -> str:
    return outcome if outcome in OUTCOMES else OTHER


# --- The queue right now ----------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingLine:
    client: str
    topic: str
    waiting: int
    longest_s: float  # 0 while nobody waits


def waiting(state: QueueState, now: float, labels: Labels) -> list[WaitingLine]:
    """Callers waiting now and the longest wait, per client and topic.

    Every configured (client, topic) pair is listed, at 0 while nobody waits, so a graph shows
    0 rather than a gap; mapped values (``other``) are listed only while someone waits there.
    Ringing callers still wait (nobody has answered them). The wait counts from the first
    queue joined, as the wallboard's `waited_s`.
    """
    lines: dict[tuple[str, str], tuple[int, float]] = {
        (c, t): (0, 0.0) for c in labels.clients for t in labels.topics
    }
    for caller in state.callers.values():
        key = (labels.client(caller.client), labels.topic(caller.topic))
        count, longest = lines.get(key, (0, 0.0))
        lines[key] = (count + 1, max(longest, now - caller.arrived, 0.0))
    return [WaitingLine(c, t, n, w) for (c, t), (n, w) in sorted(lines.items())]


def agents_by_state(state: QueueState) -> dict[str, int]:
    """How many agents are in each state (all of `AGENT_STATES`, zeros included)."""
    counts = dict.fromkeys(AGENT_STATES, 0)
    for agent in state.agents.values():
        key = agent.status if agent.status in AGENT_STATES else OTHER
        counts[key] = counts.get(key, 0) + 1
    return counts


# --- Calls as they end ------------------------------------------------------------------------


@dataclass(frozen=True)
class CallCounted:
    """One finished call as the counters and the histogram see it."""

    client: str
    topic: str
    outcome: str
    wait_s: float | None  # None: never queued (not in the wait histogram)
    wait_result: str  # answered, abandoned, left


def counted(record: CallRecord, labels: Labels) -> CallCounted:
    if record.outcome == "answered":
        result = ANSWERED
    elif record.outcome in ABANDONED_OUTCOMES:
        result = ABANDONED
    else:
        result = LEFT
    return CallCounted(
        labels.client(record.client),
        labels.topic(record.topic),
        outcome_label(record.outcome),
        record.wait_s if record.queued_at is not None else None,
        result,
    )


class CallFollower:
    """Folds the calls' life events into records; hands back each record as it completes.

    Holds only the calls still up (a call is dropped at its `Ended`). Events after a call's
    `Ended` (a late `RingEnded`, a second `Ended`) are ignored, for the last `limit` ended
    calls: a call is counted once. Should an `Ended` never come (a lost event), the oldest
    open calls are dropped beyond `limit`: memory stays bounded.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.open: dict[str, CallRecord] = {}
        self.ended: dict[str, None] = {}  # an ordered set: the oldest go first
        self.limit = limit

    def step(self, happened: Happened) -> CallRecord | None:
        """The call's record if this event completed it, else None."""
        call = happened.call_id
        if call in self.ended:
            return None
        record = record_step(self.open.pop(call, None), happened)
        if record.complete:
            _add_bounded(self.ended, call, None, self.limit)
            return record
        _add_bounded(self.open, call, record, self.limit)  # the order is of activity
        return None


V = TypeVar("V")


def _add_bounded(items: dict[str, V], key: str, value: V, limit: int) -> None:
    items[key] = value
    while len(items) > limit:
        del items[next(iter(items))]


# --- Today's service level --------------------------------------------------------------------


def local_day(at: float) -> date:
    """The calendar day in Europe/Berlin of `at` (seconds since the epoch)."""
    return datetime.fromtimestamp(at, BERLIN).date()


@dataclass
class Today:
    """The queued calls of one day per client (label value): how long each waited and how it
    ended, enough for every figure of `service_levels`. A new day starts empty."""

    day: date | None = None
    calls: dict[str, list[CallCounted]] = field(default_factory=dict)
    # The same calls by the hour they ended (Berlin), for the wallboard's chart of the day.
    hours: dict[str, dict[int, list[CallCounted]]] = field(default_factory=dict)

    def add(self, call: CallCounted, ended_at: float) -> None:
        if call.wait_s is None:
            return  # never offered to the agents
        day = local_day(ended_at)
        if day != self.day:
            if self.day is not None and day < self.day:
                return  # a late event of yesterday's call
            self.day, self.calls, self.hours = day, {}, {}
        self.calls.setdefault(call.client, []).append(call)
        hour = datetime.fromtimestamp(ended_at, BERLIN).hour
        self.hours.setdefault(call.client, {}).setdefault(hour, []).append(call)

    def hours_of(self, now: float) -> Mapping[str, Mapping[int, list[CallCounted]]]:
        """`of`, by hour."""
        return self.hours if self.day == local_day(now) else {}

    def of(self, now: float) -> Mapping[str, list[CallCounted]]:
        """The calls of the day of `now` (nothing once that day is over)."""
        return self.calls if self.day == local_day(now) else {}


@dataclass(frozen=True)
class ClientLevel:
    client: str
    offered: int
    answered: int
    answered_within: int
    abandoned: int  # short abandons included
    short_abandoned: int
    level: float | None  # 0..1; None while no call counts
    target: Target

    @property
    def meets(self) -> bool | None:
        return None if self.level is None else self.level >= self.target.share

    def to_json(self) -> dict[str, object]:
        return {
            "client": self.client,
            "offered": self.offered,
            "answered": self.answered,
            "answered_within": self.answered_within,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "threshold_s": self.target.seconds,
            "service_level_percent": None if self.level is None else round(self.level * 100, 1),
            "target_percent": round(self.target.share * 100, 1),
            "meets_target": self.meets,
        }


def client_level(
    client: str,
    calls: Iterable[CallCounted],
    target: Target,
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
) -> ClientLevel:
    """One client's figures: answered within `target.seconds` / (offered − short abandons).

    Calls sent on (overflow, callback, voicemail, transfer) count as not answered.
    """
    offered = [c for c in calls if c.wait_s is not None]
    abandoned = [c for c in offered if c.wait_result == ABANDONED]
    short = [c for c in abandoned if (c.wait_s or 0.0) < short_abandon_s]
    waits = [
        Wait(c.wait_s or 0.0, c.wait_result == ANSWERED)
        for c in offered
        if not (c.wait_result == ABANDONED and (c.wait_s or 0.0) < short_abandon_s)
    ]
    answered = [w for w in waits if w.answered]
    return ClientLevel(
        client=client,
        offered=len(offered),
        answered=len(answered),
        answered_within=sum(1 for w in answered if w.waited <= target.seconds),
        abandoned=len(abandoned),
        short_abandoned=len(short),
        level=service_level(waits, target.seconds, count_abandoned="all"),
        target=target,
    )


def service_levels(
    today: Today,
    now: float,
    clients: Iterable[str],
    targets: Mapping[str, Target],
    default: Target,
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
) -> list[ClientLevel]:
    """Today's figures for every client in `clients` (those without calls at 0), by id."""
    waits = today.of(now)
    return [
        client_level(c, waits.get(c, ()), targets.get(c, default), short_abandon_s)
        for c in sorted(clients)
    ]
