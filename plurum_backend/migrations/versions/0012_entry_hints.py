"""Hints: each entry keeps its embedding, and experiences keep one vector per list item.

``entries.embedding`` is the one embedding an entry costs: it finds other agents' dead ends
and gotchas the moment the entry is logged (docs/hints.md), and closing the session reuses
it as the vector of the experience's item instead of embedding the text again.
``experience_items`` holds the dead ends, gotchas and breakthroughs of every experience with
their vectors; hints search its dead ends and gotchas through an HNSW cosine index and rank
the breakthroughs of a matched experience ("what got them past it").

Revision ID: 0012_entry_hints
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import UUID

revision = "0012_entry_hints"
down_revision = "0011_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("embedding", Vector(384), nullable=True))
    op.create_table(
        "experience_items",
        sa.Column(
            "experience_id",
            UUID(as_uuid=True),
            sa.ForeignKey("experiences.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("embedding", Vector(384), nullable=False),
    )
    op.execute(
        "CREATE INDEX ix_experience_items_embedding ON experience_items "
        "USING hnsw (embedding vector_cosine_ops) WITH (m = 32, ef_construction = 200)"
    )


def downgrade() -> None:
    op.drop_table("experience_items")
    op.drop_column("entries", "embedding")
