"""The usage log: one row per search, acquisition, outcome, vote, publish or archive.

An operator reads it with ``plurum usage`` (and the web insights page). It holds ids, counts
and scores, and the scrubbed text of search queries unless PLURUM_RECORD_QUERIES=0; never
the text of an experience. Rows older than PLURUM_USAGE_RETENTION_DAYS are pruned.

No foreign keys: the log is written inside the request's transaction and must never make
it fail, and it outlives nothing it points at (agents and experiences are not deleted).

Revision ID: 0007_usage_log
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007_usage_log"
down_revision = "0006_dropin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("clock_timestamp()"),
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("agent_id", UUID(as_uuid=True)),
        sa.Column("experience_id", UUID(as_uuid=True)),
        sa.Column("query", sa.Text),
        sa.Column("result_count", sa.Integer),
        sa.Column("best_score", sa.Float),
        sa.Column("best_similarity", sa.Float),
        sa.Column("mode", sa.String(20)),
        sa.Column("success", sa.Boolean),
        sa.Column("vote", sa.String(4)),
    )
    op.create_index("ix_usage_events_created_at", "usage_events", ["created_at"])
    op.create_index("ix_usage_events_kind_created_at", "usage_events", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_table("usage_events")
