"""Listing index that leaves the nearest-neighbour query on its HNSW index.

0011's partial index ``ix_experiences_shared_created_at`` (``WHERE visibility = 'public'
AND status = 'published'``) made the front page's count an index-only scan, but its
predicate is implied by the visibility conditions of every keyless nearest-neighbour query
too, so the planner found a second path for those: a bitmap scan of all ~9,000 shared rows
and an exact sort by distance (estimated cheaper than the HNSW scan's start-up cost at
10,000 experiences). That took 50-90 ms per search and per experience page where the HNSW
scan takes 1-3 ms (docs/web.md).

Its replacement keys on the date alone and carries the visibility columns (held_at too,
from 0016) as INCLUDE columns: the listing's count and newest page stay index-only scans
(the conditions are checked on the index tuples), while no WHERE clause can use it as an
index condition, so the vector query (``enable_seqscan=off``) has only HNSW left.

Revision ID: 0020_web
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_web"
down_revision = "0016_held"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_experiences_shared_created_at", table_name="experiences")
    op.create_index(
        "ix_experiences_listing",
        "experiences",
        [sa.text("created_at DESC"), "id"],
        postgresql_include=["visibility", "status", "archived_at", "held_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_experiences_listing", table_name="experiences")
    op.create_index(
        "ix_experiences_shared_created_at",
        "experiences",
        [sa.text("created_at DESC"), "id"],
        postgresql_where=sa.text("visibility = 'public' AND status = 'published'"),
    )
