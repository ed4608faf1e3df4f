"""The usage log keeps each search's best calibrated relevance.

Search hits gained ``relevance`` (the calibrated chance that a hit answers the query, the
measure the relevance floor uses) after 0007_usage_log was written. Unlike the fused
``score``, which only orders the hits of one query, relevance compares across searches, so
it is what an operator averages. Older rows keep NULL.

Revision ID: 0014_usage_relevance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_usage_relevance"
down_revision = "0013_help"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("usage_events", sa.Column("best_relevance", sa.Float))


def downgrade() -> None:
    op.drop_column("usage_events", "best_relevance")
