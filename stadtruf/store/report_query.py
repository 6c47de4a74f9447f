"""Read the call records for a report: the columns the figures need, streamed, never all at once.

One indexed range query (`arrived_at`, or `client, arrived_at` for one client) selects only
`service_figures.FACT_COLUMNS`; rows come in batches (`yield_per`; a server-side cursor on
PostgreSQL), so a year of a million calls never sits in memory. The figures themselves are
computed in the core (`stadtruf.core.service_figures`), not in SQL: one rule in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stadtruf.core.service_figures import FACT_COLUMNS, Facts
from stadtruf.store.records_schema import call_records

BATCH = 20_000


def facts(engine: Engine, start: float, end: float, client: str | None = None) -> Iterator[Facts]:
    """Every call that arrived in [start, end) (epoch seconds), of `client` if given.

    Calls still up (no outcome yet) are left out: the report counts finished calls.
    """
    columns = [call_records.c[name] for name in FACT_COLUMNS]
    query = sa.select(*columns).where(
        call_records.c.arrived_at >= start,
        call_records.c.arrived_at < end,
        call_records.c.outcome.is_not(None),
    )
    if client is not None:
        query = query.where(call_records.c.client == client)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=BATCH).execute(query)
        # Rows are tuples in FACT_COLUMNS order: exactly the shape of `Facts`.
        yield from cast(Iterator[Facts], result)
