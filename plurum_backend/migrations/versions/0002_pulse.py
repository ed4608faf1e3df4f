"""Pulse: per-agent event inbox (with public activity rows), topic subscriptions.

Event ids come from a one-row counter locked by the writing transaction until it commits, so
ids become visible strictly in order: a reader at cursor N never misses an event below N.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulse_counter",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_id", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO pulse_counter (id, last_id) VALUES (1, 0)")
    op.create_table(
        "pulse_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        # NULL recipient: a public activity row for /pulse/status, not anyone's inbox
        sa.Column("recipient_id", UUID(as_uuid=True), sa.ForeignKey("agents.id")),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_pulse_events_recipient_id", "pulse_events", ["recipient_id", "id"])
    op.create_index("ix_pulse_events_created_at", "pulse_events", ["created_at"])
    op.create_table(
        "pulse_subscriptions",
        sa.Column("agent_id", UUID(as_uuid=True), sa.ForeignKey("agents.id"), primary_key=True),
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("embedding", Vector(384), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_table("pulse_subscriptions")
    op.drop_table("pulse_events")
    op.drop_table("pulse_counter")
