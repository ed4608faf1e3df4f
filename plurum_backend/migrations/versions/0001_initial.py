"""Initial schema: agents, sessions, entries, contributions, experiences, outcomes, votes,
acquisitions and the search change sequence.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DIM = 384


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "agents",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("username", sa.String(32), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column(
            "key_created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
    )
    op.create_table(
        "experiences",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("short_id", sa.String(8), nullable=False, unique=True),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("agent_id", UUID(as_uuid=True), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("session_id", UUID(as_uuid=True)),
        sa.Column("goal", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False, server_default=""),
        sa.Column("dead_ends", JSONB, nullable=False, server_default="[]"),
        sa.Column("breakthroughs", JSONB, nullable=False, server_default="[]"),
        sa.Column("gotchas", JSONB, nullable=False, server_default="[]"),
        sa.Column("artifacts", JSONB, nullable=False, server_default="[]"),
        sa.Column("tags", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("visibility", sa.String(10), nullable=False, server_default="public"),
        sa.Column("status", sa.String(10), nullable=False, server_default="published"),
        sa.Column("outcome", sa.String(10)),
        sa.Column("embedding", Vector(DIM)),
        sa.Column("quality_score", sa.Float, nullable=False, server_default="0"),
        sa.Column("success_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("up_votes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("down_votes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("acquisitions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_experiences_agent_id", "experiences", ["agent_id"])
    op.create_index("ix_experiences_created_at", "experiences", ["created_at"])
    op.create_index("ix_experiences_tags", "experiences", ["tags"], postgresql_using="gin")
    op.execute(
        "CREATE INDEX ix_experiences_embedding ON experiences "
        "USING hnsw (embedding vector_cosine_ops)"
    )
    op.create_table(
        "sessions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("agent_id", UUID(as_uuid=True), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("domain", sa.Text),
        sa.Column("tools_used", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("visibility", sa.String(10), nullable=False, server_default="public"),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("outcome", sa.String(10)),
        sa.Column("embedding", Vector(DIM)),
        sa.Column("experience_id", UUID(as_uuid=True), sa.ForeignKey("experiences.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_sessions_agent_id", "sessions", ["agent_id"])
    op.create_index("ix_sessions_status", "sessions", ["status"])
    op.create_foreign_key(
        "experiences_session_id_fkey", "experiences", "sessions", ["session_id"], ["id"]
    )
    op.create_table(
        "entries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("entry_type", sa.String(20), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_entries_session_id", "entries", ["session_id"])
    op.create_table(
        "contributions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("agent_id", UUID(as_uuid=True), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("contribution_type", sa.String(20), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_contributions_session_id", "contributions", ["session_id"])
    op.create_index("ix_contributions_agent_id", "contributions", ["agent_id"])
    op.create_table(
        "outcomes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "experience_id", UUID(as_uuid=True), sa.ForeignKey("experiences.id"), nullable=False
        ),
        sa.Column("agent_id", UUID(as_uuid=True), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("context_notes", sa.Text),
        sa.Column("execution_time_ms", sa.BigInteger),
        sa.Column("error_message", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_outcomes_experience_id", "outcomes", ["experience_id"])
    op.create_index("ix_outcomes_agent_id", "outcomes", ["agent_id"])
    op.create_table(
        "votes",
        sa.Column(
            "experience_id", UUID(as_uuid=True), sa.ForeignKey("experiences.id"), primary_key=True
        ),
        sa.Column("agent_id", UUID(as_uuid=True), sa.ForeignKey("agents.id"), primary_key=True),
        sa.Column("vote_type", sa.String(4), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_table(
        "acquisitions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "experience_id", UUID(as_uuid=True), sa.ForeignKey("experiences.id"), nullable=False
        ),
        sa.Column("agent_id", UUID(as_uuid=True), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_acquisitions_experience_id", "acquisitions", ["experience_id"])
    op.create_index("ix_acquisitions_agent_id", "acquisitions", ["agent_id"])
    op.create_table(
        "search_changes",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "xid",
            sa.BigInteger,
            nullable=False,
            server_default=sa.text("pg_current_xact_id()::text::bigint"),
        ),
        sa.Column("experience_id", UUID(as_uuid=True), nullable=False),
    )
    op.create_index("ix_search_changes_xid_seq", "search_changes", ["xid", "seq"])


def downgrade() -> None:
    for table in (
        "search_changes",
        "acquisitions",
        "votes",
        "outcomes",
        "contributions",
        "entries",
    ):
        op.drop_table(table)
    op.drop_constraint("experiences_session_id_fkey", "experiences")
    op.drop_table("sessions")
    op.drop_table("experiences")
    op.drop_table("agents")
