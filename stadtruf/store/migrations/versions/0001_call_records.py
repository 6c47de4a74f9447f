"""The call records table: one row per call.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "call_records",
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
    )
    op.create_index("ix_call_records_arrived_at", "call_records", ["arrived_at"])
    op.create_index("ix_call_records_client_arrived_at", "call_records", ["client", "arrived_at"])
    op.create_index("ix_call_records_outcome", "call_records", ["outcome"])


def downgrade() -> None:
    op.drop_table("call_records")
