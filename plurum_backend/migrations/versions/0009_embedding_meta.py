"""Embeddings: which model and backend made the stored vectors, and room to re-embed online.

``embedding_meta`` is one row: the model and backend (with its export recipe) whose vectors
the database holds, and while ``plurum reembed`` runs, the one it is moving to. A server
started with another embedder is refused. A database that already has vectors was filled by
sentence-transformers on torch (the only backend before this revision), so that is recorded.

``experiences.embedding_next`` holds the new vectors during a re-embed (NULL otherwise); the
swap renames the two columns in one short transaction, so search reads the old vectors until
then and the new ones after. ``experiences.embedding_hash`` is the SHA-256 of the text that was
embedded, so a write that leaves that text unchanged does not call the model again.

Revision ID: 0009_embedding_meta
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision = "0009_embedding_meta"
down_revision = "0014_usage_relevance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embedding_meta",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("backend", sa.Text, nullable=False),
        sa.Column("target_model", sa.Text),
        sa.Column("target_backend", sa.Text),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("id = 1", name="embedding_meta_one_row"),
    )
    op.add_column("experiences", sa.Column("embedding_next", Vector(384), nullable=True))
    op.add_column("experiences", sa.Column("embedding_hash", sa.String(64), nullable=True))
    model = os.environ.get("PLURUM_EMBEDDING_MODEL") or "all-MiniLM-L6-v2"
    op.execute(
        sa.text(
            "INSERT INTO embedding_meta (id, model, backend) "
            "SELECT 1, :model, 'torch' WHERE EXISTS "
            "(SELECT 1 FROM experiences WHERE embedding IS NOT NULL) OR EXISTS "
            "(SELECT 1 FROM sessions WHERE embedding IS NOT NULL) OR EXISTS "
            "(SELECT 1 FROM pulse_subscriptions)"
        ).bindparams(model=model)
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_experiences_embedding_next")
    op.drop_column("experiences", "embedding_hash")
    op.drop_column("experiences", "embedding_next")
    op.drop_table("embedding_meta")
