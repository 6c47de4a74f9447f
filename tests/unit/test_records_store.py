"""The call records store, against SQLite and a real PostgreSQL server (never a mock).

Every test taking `url` runs once per database. The PostgreSQL server is Debian's, started for
the session in a temporary directory on loopback (tests/support/postgres.py); if it cannot
start, these tests fail.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from stadtruf.config.load import load
from stadtruf.config.model import CallRecords
from stadtruf.core.lifecycle import (
    AgentAnswered,
    Arrived,
    Ended,
    Happened,
    LifeEvent,
)
from stadtruf.core.record import CallRecord, fold, for_storage
from stadtruf.store import records_db
from stadtruf.store.records import RecordStore, open_records
from stadtruf.store.records_schema import FIELDS, call_records, from_row, metadata
from tests.support.call_events import ARRIVE, CASES, QUEUED, T0
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
AREA_CODES = ("0203", "02041")
_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/records/anrufe.sqlite"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"records_{os.getpid()}_{next(_names)}")


def rows(url: str) -> dict[str, CallRecord]:
    engine = records_db.connect(url)
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.select(call_records))
            return {r.call_id: r for r in (from_row(row._mapping) for row in result)}
    finally:
        engine.dispose()


def expected(events: list[Happened], storage: str = "area_code") -> dict[str, CallRecord]:
    return {k: for_storage(r, storage, AREA_CODES) for k, r in fold(events).items()}  # type: ignore[arg-type]


def calls_of_every_outcome() -> list[Happened]:
    """One call per outcome (tests/support/call_events.py), interleaved, 1 s apart per call."""
    per_call = [[ARRIVE, *events, Ended("caller", 16)] for _, events, _ in CASES]
    result = []
    for step_no in range(max(map(len, per_call))):
        for i, events in enumerate(per_call):
            if step_no < len(events):
                result.append(Happened(f"call-{i}", T0 + step_no, events[step_no]))
    return result


def test_migrations_build_exactly_the_table_the_code_defines(url: str) -> None:
    engine = records_db.connect(url)
    try:
        records_db.migrate(engine)
        records_db.migrate(engine)  # a second start changes nothing
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
            assert diff == []
            assert [c.name for c in call_records.c] == list(FIELDS)
    finally:
        engine.dispose()


def test_every_outcome_is_recorded_as_folded(url: str) -> None:
    events = calls_of_every_outcome()
    with RecordStore.open(url, area_codes=AREA_CODES) as store:
        for h in events:
            store.record(h)
    got = rows(url)
    assert got == expected(events)
    assert {r.outcome for r in got.values()} >= {
        "abandoned_menu", "abandoned_queue", "abandoned_ringing", "overflow", "callback",
        "voicemail", "transferred", "announced", "hangup", "closed", "answered",
    }  # fmt: skip
    assert all(r.caller == "02041…" and r.hangup_cause == 16 for r in got.values())


@pytest.mark.parametrize("storage", ["full", "none"])
def test_caller_number_stored_as_configured(url: str, storage: str) -> None:
    with RecordStore.open(url, caller_number=storage) as store:  # type: ignore[arg-type]
        store.record(Happened("c1", T0, Arrived("115", "+49 2041 123456")))
    assert rows(url)["c1"].caller == {"full": "02041123456", "none": None}[storage]


def test_row_is_written_when_the_call_arrives(url: str) -> None:
    with RecordStore.open(url) as store:
        store.record(Happened("c1", T0, ARRIVE))
        store.record(Happened("c1", T0 + 1, QUEUED))
        assert store.flush(30)
        row = rows(url)["c1"]
        assert (row.outcome, row.queued_at, row.ended_at) == (None, T0 + 1, None)
        store.record(Happened("c1", T0 + 5, Ended("caller")))
    assert rows(url)["c1"].outcome == "abandoned_queue"


def test_clean_stop_writes_everything_queued(url: str) -> None:
    events = [
        Happened(f"c{i}", T0 + i, e)
        for i in range(300)
        for e in (ARRIVE, QUEUED, AgentAnswered("a1"), Ended("agent"))
    ]
    store = RecordStore.open(url)
    for h in events:
        store.record(h)
    store.close()  # no flush before: close alone must write it all
    got = rows(url)
    assert len(got) == 300 and all(r.outcome == "answered" for r in got.values())


def test_wrap_up_after_the_call_is_written(url: str) -> None:
    with RecordStore.open(url) as store:
        for e in (ARRIVE, QUEUED, AgentAnswered("a1"), Ended("agent")):
            store.record(Happened("c1", T0, e))
        assert store.flush(30)  # the call is done and gone from memory
        store.wrap_up("c1", 42.5)
        store.wrap_up("unknown", 1.0)  # logged, ignored
    assert rows(url)["c1"].wrap_up_s == 42.5


def test_heartbeat_moves_last_seen_while_the_call_waits(url: str) -> None:
    now = [T0]
    with RecordStore.open(url, clock=lambda: now[0], heartbeat_s=0.05) as store:
        store.record(Happened("c1", T0, ARRIVE))
        store.record(Happened("c1", T0, QUEUED))
        assert store.flush(30)
        now[0] = T0 + 120
        deadline = time.monotonic() + 30
        while rows(url)["c1"].last_seen_at != T0 + 120:
            assert time.monotonic() < deadline, "heartbeat never written"
            time.sleep(0.05)


def test_recording_never_waits_for_a_locked_database(url: str) -> None:
    """The database is locked by another writer: `record` still returns at once; the rows
    follow when the lock is gone."""
    with RecordStore.open(url) as store:
        locker = records_db.connect(url)
        connection = locker.connect()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            connection.begin()
            connection.exec_driver_sql("LOCK TABLE call_records IN ACCESS EXCLUSIVE MODE")
        try:
            started = time.monotonic()
            for i in range(2000):
                store.record(Happened(f"c{i}", T0, ARRIVE))
            assert time.monotonic() - started < 2.0  # a lock held on purpose; not a timing race
            assert not store.flush(timeout=0.5)  # the writer is stuck on the lock, not the caller
        finally:
            connection.rollback()
            connection.close()
            locker.dispose()
        assert store.flush(60)
    assert len(rows(url)) == 2000


_KILLED = textwrap.dedent(
    """
    import sys, time
    from stadtruf.core.lifecycle import Arrived, Happened, Queued
    from stadtruf.store.records import RecordStore, open_records
    store = RecordStore.open(sys.argv[1], heartbeat_s=0.1)
    now = time.time()
    store.record(Happened("killed", now, Arrived("115", "0203123456")))
    store.record(Happened("killed", now, Queued("kfz")))
    store.flush(30)
    print("ready", now, flush=True)
    time.sleep(600)
    """
)


def test_rows_left_open_by_a_killed_process_are_closed_as_lost(url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED, url], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        line = ""
        while not line.startswith("ready"):
            line = process.stdout.readline()
            assert line, "the writer process died before it was ready"
        arrived = float(line.split()[1])
        time.sleep(1.0)  # a few heartbeats
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()
    killed_at = time.time()
    assert rows(url)["killed"].outcome is None

    with RecordStore.open(url) as store:
        lost = rows(url)["killed"]
        assert lost.outcome == "lost" and lost.ended_at == lost.last_seen_at
        assert arrived + 0.2 <= lost.ended_at <= killed_at  # the heartbeat, not the arrival
        assert lost.wait_s == pytest.approx(lost.ended_at - arrived)
        # The call lived on (the queue adopted it after the restart): the record goes on.
        store.record(Happened("killed", killed_at + 1, AgentAnswered("a1")))
        store.record(Happened("killed", killed_at + 3, Ended("agent")))
    done = rows(url)["killed"]
    assert (done.outcome, done.talk_s, done.dialled) == ("answered", 2.0, "115")


EVENTS: st.SearchStrategy[LifeEvent] = st.sampled_from(
    [e for _, events, _ in CASES for e in events] + [Ended("caller"), QUEUED]
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_events_in_any_batches_equal_the_pure_fold(url: str, data: st.DataObject) -> None:
    prefix = f"p{next(_names)}-"
    per_call = [
        [ARRIVE, *data.draw(st.lists(EVENTS, max_size=8)), Ended("caller")]
        for _ in range(data.draw(st.integers(1, 4)))
    ]
    events = [
        Happened(f"{prefix}{i}", T0 + n, e)
        for n in range(9)
        for i, evs in enumerate(per_call)
        if n < len(evs)
        for e in [evs[n]]
    ]
    flushes = data.draw(st.sets(st.integers(0, len(events))))
    with RecordStore.open(url, area_codes=AREA_CODES) as store:
        for n, h in enumerate(events):
            if n in flushes:
                assert store.flush(30)
            store.record(h)
    got = {k: r for k, r in rows(url).items() if k.startswith(prefix)}
    assert got == expected(events)


def test_database_url_from_the_settings(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert records_db.database_url(CallRecords(), tmp_path, run) == f"sqlite:///{run}/anrufe.sqlite"
    own = CallRecords(sqlite="daten/anrufe.sqlite")
    assert (
        records_db.database_url(own, tmp_path, run) == f"sqlite:///{tmp_path}/daten/anrufe.sqlite"
    )
    pg = CallRecords(postgresql="postgresql://stadtruf:geheim@db.intern:5433/stadtruf")
    assert records_db.database_url(pg, tmp_path, run) == (
        "postgresql+psycopg://stadtruf:geheim@db.intern:5433/stadtruf"
    )


@pytest.mark.parametrize(
    "settings_",
    [{"sqlite": "a.sqlite", "postgresql": "postgresql://db/x"}, {"postgresql": "mysql://db/x"}],
)
def test_settings_refused(settings_: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        CallRecords.model_validate(settings_)


def test_opened_as_the_sample_config_says(tmp_path: Path) -> None:
    config = load(ROOT / "config")
    with open_records(config, tmp_path) as store:
        store.record(Happened("c1", T0, Arrived("115", "+49 2041 123456")))
    assert rows(f"sqlite:///{tmp_path}/anrufe.sqlite")["c1"].caller == "02041…"


def test_writer_thread_is_gone_after_close(tmp_path: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    RecordStore.open(f"sqlite:///{tmp_path}/x.sqlite").close()
    assert "call-records" not in {t.name for t in threading.enumerate()} - before
