"""Generated call records for report tests and the benchmark: plausible, deterministic, fast.

`generate(count, first_month, last_month, seed)` yields finished rows of `call_records` (as
dicts, every column) spread over the local days of the period, mostly within 7:30–18:00 and
some at night (the nights of the DST changes included); outcomes, waits, talk and wrap-up
times are drawn with a fixed seed. `insert` writes them in bulk: executemany batches on
SQLite, COPY on PostgreSQL, so a million rows take seconds, not minutes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from stadtruf.store import records_db
from stadtruf.store.records_schema import call_records

BERLIN = ZoneInfo("Europe/Berlin")
CLIENTS = (("duisburg", 40), ("bottrop", 15), ("dinslaken", 10), ("rees", 5), ("wbd", 28))
NO_CLIENT_SHARE = 0.02
TOPICS = ("kfz", "ausweis", "meldewesen", "abfall", "sperrmuell", "ordnungsamt", "vermittlung")
TOPIC_WEIGHTS = (20, 15, 12, 18, 10, 8, 17)
# Outcome and how the call went: (outcome, weight, queued?)
OUTCOMES = (
    ("answered", 74, True),
    ("abandoned_queue", 8, True),
    ("abandoned_ringing", 2, True),
    ("overflow", 2, True),
    ("callback", 1, True),
    ("transferred", 5, False),
    ("announced", 2, False),
    ("abandoned_menu", 4, False),
    ("closed", 2, False),
)
COLUMNS = tuple(c.name for c in call_records.c)


def _local_days(first_month: str, last_month: str) -> list[datetime]:
    day = datetime.strptime(first_month, "%Y-%m")
    last = datetime.strptime(last_month, "%Y-%m")
    end = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
    days = []
    while day < end:
        days.append(day)
        day += timedelta(days=1)
    return days


def generate(
    count: int, first_month: str, last_month: str | None = None, seed: int = 10
) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    days = _local_days(first_month, last_month or first_month)
    clients = [c for c, _ in CLIENTS]
    client_weights = [w for _, w in CLIENTS]
    outcomes = [o for o, _, _ in OUTCOMES]
    outcome_weights = [w for _, w, _ in OUTCOMES]
    queued_outcomes = {o for o, _, q in OUTCOMES if q}
    changes = {
        d
        for d in days
        if d.replace(tzinfo=BERLIN).utcoffset() != d.replace(hour=23, tzinfo=BERLIN).utcoffset()
    }
    # Few calls at weekends; the DST change days (Sundays) still get enough to test them.
    day_weights = [
        0.5 if d in changes else (1.0, 1.0, 1.0, 1.0, 0.9, 0.12, 0.04)[d.weekday()] for d in days
    ]

    # Arrivals first, in time order: a real table grows in that order.
    arrivals = []
    for _ in range(count):
        day = rnd.choices(days, day_weights)[0]
        if rnd.random() < 0.04:  # at night; on the DST change days mostly in the 2 o'clock hour
            minute = rnd.randrange(0, 6 * 60)
            if day in changes and rnd.random() < 0.6:
                minute = rnd.randrange(2 * 60, 3 * 60)
        else:
            minute = rnd.randrange(7 * 60 + 30, 18 * 60)
        local = (day + timedelta(minutes=minute, seconds=rnd.randrange(60))).replace(
            tzinfo=BERLIN, fold=rnd.randrange(2)
        )
        arrivals.append(local.timestamp() + rnd.random())
    arrivals.sort()
    for n, arrived in enumerate(arrivals):
        client = None if rnd.random() < NO_CLIENT_SHARE else rnd.choices(clients, client_weights)[0]
        outcome = rnd.choices(outcomes, outcome_weights)[0]
        menu_s = rnd.uniform(5, 40)
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(
            call_id=f"gen-{seed}-{n}",
            dialled="115",
            arrived_at=arrived,
            withheld=False,
            client=client,
            menu_path="main",
            keys="1",
            topic=rnd.choices(TOPICS, TOPIC_WEIGHTS)[0] if rnd.random() < 0.95 else None,
            closed=outcome == "closed",
            ringing=False,
            rings=0,
            outcome=outcome,
            ended_by="caller",
        )
        end = arrived + menu_s
        if outcome in queued_outcomes:
            queued = arrived + menu_s
            wait = min(rnd.expovariate(1 / 14), 900.0)
            row.update(queued_at=queued, route_kind="queue", wait_s=wait)
            end = queued + wait
            if outcome in ("answered", "abandoned_ringing"):
                row.update(rang_at=queued + wait * 0.8, rings=1, agent="agent-101")
            if outcome == "answered":
                talk = rnd.uniform(30, 600)
                row.update(answered_at=end, talk_s=talk)
                if rnd.random() < 0.8:
                    row["wrap_up_s"] = rnd.uniform(0, 90)
                if rnd.random() < 0.12:
                    target = "02032830" if rnd.random() < 0.7 else "agent-102"
                    row.update(
                        transfer_target=target, transferred_by="agent", transferred_at=end + talk
                    )
                end += talk
            elif outcome == "overflow":
                row.update(overflow_action="transfer", overflow_target="02032830")
            elif outcome == "callback":
                row["callback"] = "callback"
        elif outcome == "transferred":
            row.update(transfer_target="02812070", transferred_by="menu", transferred_at=end)
        row.update(ended_at=end, last_seen_at=end)
        yield row


def insert(engine: Engine, rows: Iterable[dict[str, Any]], batch: int = 20_000) -> int:
    """Write `rows` (new table rows) in bulk; the schema is migrated first. Returns the count."""
    records_db.migrate(engine)
    written = 0
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            raw: Any = connection.connection.driver_connection
            columns = ", ".join(f'"{c}"' for c in COLUMNS)
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY call_records ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(tuple(row[c] for c in COLUMNS))
                    written += 1
            connection.exec_driver_sql("ANALYZE call_records")  # as autovacuum would, soon
        return written
    # SQLite: the driver's executemany with tuples, in batches (SQLAlchemy's dicts cost 2x).
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    marks = ", ".join("?" for _ in COLUMNS)
    statement = f"INSERT INTO call_records ({names}) VALUES ({marks})"
    chunk: list[tuple[Any, ...]] = []
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        for row in rows:
            chunk.append(tuple(row[c] for c in COLUMNS))
            if len(chunk) >= batch:
                raw.executemany(statement, chunk)
                written += len(chunk)
                chunk = []
        if chunk:
            raw.executemany(statement, chunk)
            written += len(chunk)
    return written
