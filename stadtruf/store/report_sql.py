"""The report's tallies computed by the database: a year of a million calls in seconds.

Streaming every row through Python (`report_query.facts` into `core.report.collect`) costs a
few microseconds a call, too slow for a yearly report of a large center. Here the database
does the same sums in two grouped scans over the indexed range:

1. per client, topic and local day: the fields of `service_figures.Tally` and the billed
   minutes (`billing.billed_minutes`);
2. per client, local hour of day and wait bin (`report.WAIT_BINS`): the calls.

This is the SQL form of `Tally.add` and `collect`, built from the same constants (outcomes,
office prefixes, thresholds, bins, the zone's offsets); tests/unit/test_report.py checks on
generated data, in SQLite and PostgreSQL, that it gives exactly the tallies of the core's
fold, so the core stays the one definition. Local time: the core lists the zone's UTC
offsets over the period (`service_figures.offsets`), the query adds the right one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from stadtruf.core.report import WAIT_BINS, ClientData
from stadtruf.core.service_figures import (
    ABANDONED,
    OFFICE_PREFIXES,
    Rules,
    Tally,
    local_midnight,
    offsets,
)
from stadtruf.store.records_schema import call_records

c = call_records.c


def _floor(value: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(value), sa.BigInteger)
    return sa.cast(value, sa.Integer)  # SQLite: truncates; our values are positive


def _ceil(value: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.cast(sa.func.ceil(value), sa.BigInteger)
    whole = sa.cast(value, sa.Integer)
    return whole + sa.case((value > whole, 1), else_=0)


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _local(start: float, end: float) -> ColumnElement[Any]:
    segments = offsets(start, end)
    if len(segments) == 1:
        return c.arrived_at + segments[0][1]
    whens = [
        (c.arrived_at < following, c.arrived_at + offset)
        for (_, offset), (following, _) in itertools.pairwise(segments)
    ]
    return sa.case(*whens, else_=c.arrived_at + segments[-1][1])


def _covers(engine: Engine, start: float, end: float) -> bool:
    """Whether [start, end) holds every call of the table (e.g. the yearly report of a young
    installation): then one plain scan beats the index, whose row look-ups jump around."""
    with engine.connect() as connection:
        first, last = connection.execute(
            sa.select(sa.func.min(c.arrived_at), sa.func.max(c.arrived_at))
        ).one()
    return first is None or (start <= first and last < end)


def collect_sql(
    engine: Engine,
    start: float,
    end: float,
    rules: Callable[[str | None], Rules],
    clients: Mapping[str, object],
    client: str | None = None,
) -> dict[str | None, ClientData]:
    """What `core.report.collect` gives for the calls of [start, end), summed by the database.

    `clients`: the configured client ids (each gets its own threshold; others the default
    `rules(None)`).
    """
    dialect = engine.dialect.name
    default = rules(None)
    own = {cid: rules(cid).threshold_s for cid in clients}
    own = {cid: t for cid, t in own.items() if t != default.threshold_s}
    threshold: ColumnElement[Any] | float = (
        sa.case(*[(c.client == cid, t) for cid, t in own.items()], else_=default.threshold_s)
        if own
        else default.threshold_s
    )
    short = default.short_abandon_s
    wait = sa.func.coalesce(c.wait_s, 0.0)
    queued = c.queued_at.is_not(None)
    answered = sa.and_(queued, c.outcome == "answered")
    abandoned = sa.and_(queued, c.outcome.in_(sorted(ABANDONED)))
    to_office = sa.and_(
        c.transferred_by == "agent",
        c.transfer_target.is_not(None),
        sa.func.substr(c.transfer_target, 1, 1).in_(OFFICE_PREFIXES),
    )
    local = _local(start, end)
    day = _floor(local / 86400, dialect).label("day")
    where: list[ColumnElement[bool]] = [c.outcome.is_not(None)]
    if not _covers(engine, start, end):
        where += [c.arrived_at >= start, c.arrived_at < end]
    if client is not None:
        where.append(c.client == client)
    duration = c.ended_at - c.arrived_at
    minutes = sa.case((c.ended_at > c.arrived_at, _ceil(duration / 60, dialect)), else_=0)
    tallies = (
        sa.select(
            c.client,
            c.topic,
            day,
            sa.func.count().label("calls"),
            _count(queued).label("offered"),
            _count(answered).label("answered"),
            _count(sa.and_(answered, wait <= threshold)).label("answered_within"),
            _count(abandoned).label("abandoned"),
            _count(sa.and_(abandoned, wait < short)).label("short_abandoned"),
            sa.func.sum(sa.case((answered, wait), else_=0.0)).label("wait_answered_s"),
            sa.func.sum(
                sa.case(
                    (
                        answered,
                        sa.func.coalesce(c.talk_s, 0.0) + sa.func.coalesce(c.wrap_up_s, 0.0),
                    ),
                    else_=0.0,
                )
            ).label("handled_s"),
            sa.func.max(sa.case((queued, wait), else_=0.0)).label("longest_wait_s"),
            _count(sa.and_(answered, sa.not_(to_office))).label("first_level"),
            sa.func.sum(minutes).label("minutes"),
        )
        .where(*where)
        .group_by(day, c.client, c.topic)  # day first: rows come roughly in time order
    )
    bins = sa.case(*[(wait <= edge, i) for i, edge in enumerate(WAIT_BINS)], else_=len(WAIT_BINS))
    hour = (_floor(local / 3600, dialect) % 24).label("hour")
    wait_bin = sa.case((queued, bins), else_=-1).label("bin")
    hours = (
        sa.select(c.client, hour, wait_bin, sa.func.count().label("calls"))
        .where(*where)
        .group_by(hour, c.client, wait_bin)
    )
    # The two scans run side by side, each on its own connection: SQLite releases the GIL
    # while it steps, PostgreSQL gives each its own backend, so two cores halve the wait.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="report-sql") as pool:
        tally_rows = pool.submit(_fetch, engine, tallies)
        hour_rows = pool.submit(_fetch, engine, hours)
        first, second = tally_rows.result(), hour_rows.result()
    result: dict[str | None, ClientData] = {}
    for row in first:
        data = result.setdefault(row.client, ClientData())
        data.tallies[(row.topic, local_midnight(int(row.day)))] = Tally(
            calls=int(row.calls),
            offered=int(row.offered),
            answered=int(row.answered),
            answered_within=int(row.answered_within),
            abandoned=int(row.abandoned),
            short_abandoned=int(row.short_abandoned),
            wait_answered_s=float(row.wait_answered_s),
            handled_s=float(row.handled_s),
            longest_wait_s=float(row.longest_wait_s),
            first_level=int(row.first_level),
        )
        data.minutes += int(row.minutes)
    for row in second:
        data = result.setdefault(row.client, ClientData())
        data.per_hour[int(row.hour)] += int(row.calls)
        if row.bin >= 0:
            data.waits[int(row.bin)] += int(row.calls)
    return result


def _fetch(engine: Engine, query: sa.Select[Any]) -> Sequence[sa.Row[Any]]:
    with engine.connect() as connection:
        return connection.execute(query).all()
