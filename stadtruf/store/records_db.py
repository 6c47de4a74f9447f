"""The call records database: which one (SQLite file or PostgreSQL), its schema, its start.

`connect` builds the engine from the `call_records:` settings, `migrate` brings the schema to
the newest migration (Alembic, programmatically: the admin needs no alembic.ini), and
`close_lost` ends the rows a killed process left open. All three block: run them at start,
before calls are served (or in a thread).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import Executable

from stadtruf.config.model import CallRecords
from stadtruf.core.record import CallRecord
from stadtruf.core.record import close_lost as close_lost_record
from stadtruf.store.records_schema import call_records, from_row, to_row

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_SQLITE = "anrufe.sqlite"


def database_url(settings: CallRecords, config_dir: Path, run_dir: Path) -> str:
    """The SQLAlchemy URL for the settings: PostgreSQL by DSN (psycopg 3), else SQLite."""
    if settings.postgresql is not None:
        url = sa.make_url(settings.postgresql)
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    path = config_dir / settings.sqlite if settings.sqlite else run_dir / DEFAULT_SQLITE
    return f"sqlite:///{path.resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (reports) never block the writer. synchronous=NORMAL is durable against a
    # killed process; a power cut may lose the last moment's commits, never corrupt the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def connect(url: str) -> Engine:
    """An engine for `url`; a SQLite file's directory is created, the file set to WAL mode."""
    if url.startswith("sqlite"):
        database = sa.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Create or update the schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def close_lost(engine: Engine) -> list[str]:
    """End every row still open (a previous process died with calls up) as outcome "lost".

    Each ends at the time it was last seen. Returns the call ids, for the log.
    """
    with engine.begin() as connection:
        rows = connection.execute(sa.select(call_records).where(call_records.c.outcome.is_(None)))
        lost = [close_lost_record(from_row(row._mapping)) for row in rows]
        write(connection, lost)
    return [r.call_id for r in lost]


def write(connection: Connection, records: Iterable[CallRecord]) -> None:
    """Insert or update whole rows, in one statement (INSERT … ON CONFLICT DO UPDATE)."""
    rows = [to_row(r) for r in records]
    if not rows:
        return
    connection.execute(_upsert(connection.dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Executable:
    # Built once per database: building it (38 columns) cost more than the write itself.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(call_records)
    return statement.on_conflict_do_update(
        index_elements=[call_records.c.call_id],
        set_={c.name: statement.excluded[c.name] for c in call_records.c if c.name != "call_id"},
    )
