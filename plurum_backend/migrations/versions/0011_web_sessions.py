"""Web sign-in: one row per browser signed in with an agent's API key.

The cookie holds a random token; only its SHA-256 is stored here, so a copy of the table
signs nobody in. ``key_hash`` is the agent's key hash at sign-in: rotating the key ends every
web session made with the old one. ``csrf_token`` is the token every form POST must carry.

Revision ID: 0011_web_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0011_web_sessions"
down_revision = "0009_embedding_meta"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "agent_id",
            UUID(as_uuid=True),
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_index(
        "ix_experiences_shared_created_at",
        "experiences",
        [sa.text("created_at DESC"), "id"],
        postgresql_where=sa.text("visibility = 'public' AND status = 'published'"),
    )


def downgrade() -> None:
    op.drop_index("ix_experiences_shared_created_at", table_name="experiences")
    op.drop_table("web_sessions")
