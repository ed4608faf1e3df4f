"""Duplicates into consensus: the vectors that tell a duplicate, and the clusters it joins.

``duplicate_vectors`` keeps the vector of an experience's goal and of its solution (its
breakthroughs' vectors are already in ``experience_items``): linking compares a new
experience's goal and fix with its nearest neighbours' (services/duplicates.py). Experiences
stored before this revision get theirs the first time they are a candidate.
``cluster_members`` holds one row per experience linked into a cluster, the first member
included; an experience alone has no row. ``cluster_id`` is a label (the first member's id)
and stays valid if that member is deleted; ``linked_to`` is the member the link was made to.
See docs/trust.md, "Duplicates into consensus".

Revision ID: 0017_clusters
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import UUID

revision = "0017_clusters"
down_revision = "0022_items_next"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duplicate_vectors",
        sa.Column(
            "experience_id",
            UUID(as_uuid=True),
            sa.ForeignKey("experiences.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("goal", Vector(384), nullable=False),
        sa.Column("solution", Vector(384), nullable=True),
    )
    op.create_table(
        "cluster_members",
        sa.Column(
            "experience_id",
            UUID(as_uuid=True),
            sa.ForeignKey("experiences.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("cluster_id", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "linked_to",
            UUID(as_uuid=True),
            sa.ForeignKey("experiences.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("goal_similarity", sa.Float, nullable=True),
        sa.Column("fix_similarity", sa.Float, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_cluster_members_cluster_id", "cluster_members", ["cluster_id"])


def downgrade() -> None:
    op.drop_table("cluster_members")
    op.drop_table("duplicate_vectors")
