"""The call records table (SQLAlchemy Core) and the mapping between its rows and `CallRecord`.

One column per `CallRecord` field, same name; the menu path is kept as text (``main/kfz``).
Times are seconds since the epoch (UTC) as double precision, which both databases compare and
sum fast; for reading by hand: ``datetime(arrived_at, 'unixepoch')`` in SQLite,
``to_timestamp(arrived_at)`` in PostgreSQL. `outcome` is NULL while the call is up.

The table is created and changed only by the migrations (`stadtruf/store/migrations`); a test
checks that they produce exactly this definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

import sqlalchemy as sa

from stadtruf.core.record import CallRecord

metadata = sa.MetaData()

MENU_SEPARATOR = "/"

call_records = sa.Table(
    "call_records",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("dialled", sa.Text, nullable=False),
    sa.Column("arrived_at", sa.Double, nullable=False),
    sa.Column("last_seen_at", sa.Double, nullable=False),
    sa.Column("caller", sa.Text),
    sa.Column("withheld", sa.Boolean, nullable=False),
    sa.Column("client", sa.Text),
    sa.Column("origin_rule", sa.Text),
    sa.Column("origin_reason", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("menu_path", sa.Text, nullable=False),
    sa.Column("keys", sa.Text, nullable=False),
    sa.Column("topic", sa.Text),
    sa.Column("route_kind", sa.Text),
    sa.Column("route_target", sa.Text),
    sa.Column("route_cause", sa.Text),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("queued_at", sa.Double),
    sa.Column("rang_at", sa.Double),
    sa.Column("answered_at", sa.Double),
    sa.Column("ended_at", sa.Double),
    sa.Column("agent", sa.Text),
    sa.Column("ringing", sa.Boolean, nullable=False),
    sa.Column("rings", sa.Integer, nullable=False),
    sa.Column("left_queue_at", sa.Double),
    sa.Column("overflow_reason", sa.Text),
    sa.Column("overflow_action", sa.Text),
    sa.Column("overflow_target", sa.Text),
    sa.Column("callback", sa.Text),
    sa.Column("transfer_target", sa.Text),
    sa.Column("transferred_by", sa.Text),
    sa.Column("transferred_at", sa.Double),
    sa.Column("wait_s", sa.Double),
    sa.Column("talk_s", sa.Double),
    sa.Column("wrap_up_s", sa.Double),
    sa.Column("outcome", sa.Text),
    sa.Column("ended_by", sa.Text),
    sa.Column("hangup_cause", sa.Integer),
    sa.Index("ix_call_records_arrived_at", "arrived_at"),
    sa.Index("ix_call_records_client_arrived_at", "client", "arrived_at"),
    sa.Index("ix_call_records_outcome", "outcome"),
)

FIELDS = tuple(f.name for f in fields(CallRecord))


def to_row(record: CallRecord) -> dict[str, Any]:
    row = asdict(record)
    row["menu_path"] = MENU_SEPARATOR.join(record.menu_path)
    return row


def from_row(row: Mapping[Any, Any]) -> CallRecord:
    values = {name: row[name] for name in FIELDS}
    path = values["menu_path"]
    values["menu_path"] = tuple(path.split(MENU_SEPARATOR)) if path else ()
    for flag in ("withheld", "closed", "ringing"):
        values[flag] = bool(values[flag])
    return CallRecord(**values)
