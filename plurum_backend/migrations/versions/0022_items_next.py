"""``plurum reembed`` moves the item vectors too: ``experience_items.embedding_next``.

The dead ends, gotchas and breakthroughs of every experience carry a vector (0012) that hints
and search's multi-vector scoring compare with new vectors; a re-embed fills
``embedding_next`` beside the old one and the swap trades the two columns by name, as for
``experiences`` (0009). The swap leaves the old vectors in ``embedding_next`` until the tidy
step sets them to NULL, so neither column can be NOT NULL any more: every writer still gives
an item its vector, and the readers skip a NULL (store/hints.py, store/similarity.py).

Revision ID: 0022_items_next
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision = "0022_items_next"
down_revision = "0020_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("experience_items", "embedding", existing_type=Vector(384), nullable=True)
    op.add_column("experience_items", sa.Column("embedding_next", Vector(384), nullable=True))


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_experience_items_embedding_next")
    op.drop_column("experience_items", "embedding_next")
    op.execute("DELETE FROM experience_items WHERE embedding IS NULL")
    op.alter_column("experience_items", "embedding", existing_type=Vector(384), nullable=False)
