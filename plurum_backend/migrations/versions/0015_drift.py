"""Outcome drift: age-weighted evidence and the freshness verdict of each experience.

``weighted`` holds the age-weighted sums of reports and votes as of ``scored_at`` (with the
half-life used), from which the score at any later instant follows by one multiplication;
``freshness`` the verdict computed then (services/freshness.py). Both stay NULL until the
experience is rescored: on its next report or vote, or by the rescore sweep, which starts
with the rows that have evidence and were never scored this way (docs/trust.md).

Revision ID: 0015_drift
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015_drift"
down_revision = "0012_entry_hints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experiences", sa.Column("weighted", JSONB, nullable=True))
    op.add_column("experiences", sa.Column("freshness", JSONB, nullable=True))
    op.add_column("experiences", sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("experiences", "scored_at")
    op.drop_column("experiences", "freshness")
    op.drop_column("experiences", "weighted")
