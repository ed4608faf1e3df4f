"""Pulse: an event is stored once, with one small delivery row per recipient.

Before, every recipient had a copy of the event (payload included) under its own id: an
event for 1,000 related agents wrote 1,000 JSONB rows, and every process read them all back
to send them. Now the event is one row and ``pulse_deliveries`` holds (recipient, event,
read_at); the hub serializes each event once and sends the same frame to every recipient.
Public activity, formerly rows with a NULL recipient, is the ``public`` flag. ``created_at``
becomes ``clock_timestamp()``, the moment the event was written (just before its commit),
rather than the start of the transaction that caused it.

Existing events keep their ids, so inbox cursors held by clients stay valid. The downgrade
gives every delivery its own row again, renumbered from 1 (cursors held then restart).

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulse_deliveries",
        # No foreign key to agents: recipients come from rows that already reference agents
        # (sessions, subscriptions, contributions), and the check per row doubled the cost of
        # publishing an event to 1,000 agents (25 ms instead of 12 ms).
        sa.Column("recipient_id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "event_id",
            sa.BigInteger,
            sa.ForeignKey("pulse_events.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        "INSERT INTO pulse_deliveries (recipient_id, event_id, read_at) "
        "SELECT recipient_id, id, read_at FROM pulse_events WHERE recipient_id IS NOT NULL"
    )
    op.create_index("ix_pulse_deliveries_event_id", "pulse_deliveries", ["event_id"])
    op.add_column(
        "pulse_events",
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE pulse_events SET public = true WHERE recipient_id IS NULL")
    op.drop_index("ix_pulse_events_recipient_id", "pulse_events")
    op.drop_column("pulse_events", "recipient_id")
    op.drop_column("pulse_events", "read_at")
    op.create_index(
        "ix_pulse_events_public", "pulse_events", ["id"], postgresql_where=sa.text("public")
    )
    op.alter_column("pulse_events", "created_at", server_default=sa.text("clock_timestamp()"))


def downgrade() -> None:
    op.execute(
        """
        CREATE TEMPORARY TABLE old_pulse_events ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY e.id, d.recipient_id NULLS FIRST) AS id,
               d.recipient_id, e.type, e.payload, e.created_at, d.read_at
        FROM pulse_events e
        JOIN LATERAL (
            SELECT recipient_id, read_at FROM pulse_deliveries WHERE event_id = e.id
            UNION ALL
            SELECT NULL, NULL WHERE e.public
        ) d ON true
        """
    )
    op.drop_table("pulse_deliveries")
    op.execute("DELETE FROM pulse_events")
    op.drop_index("ix_pulse_events_public", "pulse_events")
    op.drop_column("pulse_events", "public")
    op.add_column(
        "pulse_events",
        sa.Column("recipient_id", UUID(as_uuid=True), sa.ForeignKey("agents.id")),
    )
    op.add_column("pulse_events", sa.Column("read_at", sa.DateTime(timezone=True)))
    op.create_index("ix_pulse_events_recipient_id", "pulse_events", ["recipient_id", "id"])
    op.alter_column("pulse_events", "created_at", server_default=sa.text("now()"))
    op.execute(
        "INSERT INTO pulse_events (id, recipient_id, type, payload, created_at, read_at) "
        "SELECT id, recipient_id, type, payload, created_at, read_at FROM old_pulse_events"
    )
    op.execute("UPDATE pulse_counter SET last_id = (SELECT coalesce(max(id), 0) FROM pulse_events)")
