"""Alembic environment: always run with a connection handed in by `records_db.migrate`.

There is no alembic.ini for the admin: the app migrates its database itself at start.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from stadtruf.store.records_schema import metadata

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode recreates the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
