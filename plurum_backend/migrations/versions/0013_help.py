"""Help in the middle of the work: error signatures and environments.

- ``experiences.error_signatures``: the canonical signatures of the errors an experience
  quotes (``plurum_backend.search.signatures``), as JSON for the detail, and
  ``experiences.signature_keys``, the keys they are looked up by (GIN-indexed). Existing
  experiences are filled here, in batches.
- ``environment`` (``{"os", "runtime", "packages"}``, JSON) on sessions, experiences and
  outcome reports: what the agent ran when it worked, or did not.

Revision ID: 0013_help
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from plurum_backend.search.signatures import experience_signatures, stored_keys

revision = "0013_help"
down_revision = "0007_usage_log"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    for table in ("sessions", "experiences", "outcomes"):
        op.add_column(table, sa.Column("environment", JSONB, nullable=True))
    op.add_column(
        "experiences",
        sa.Column("error_signatures", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column(
        "experiences",
        sa.Column("signature_keys", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
    )
    op.create_index(
        "ix_experiences_signature_keys",
        "experiences",
        ["signature_keys"],
        postgresql_using="gin",
    )
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    last = None
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, goal, solution, context, dead_ends, breakthroughs, gotchas, artifacts "
                "FROM experiences WHERE (CAST(:last AS uuid) IS NULL OR id > CAST(:last AS uuid)) "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        for row in rows:
            found = experience_signatures(
                row.goal,
                row.solution,
                row.context,
                [*row.dead_ends, *row.breakthroughs, *row.gotchas, *row.artifacts],
            )
            if found:
                conn.execute(
                    sa.text(
                        "UPDATE experiences SET error_signatures = CAST(:sigs AS jsonb), "
                        "signature_keys = :keys WHERE id = :id"
                    ),
                    {
                        "sigs": json.dumps([sig.as_json() for sig in found]),
                        "keys": stored_keys(found),
                        "id": row.id,
                    },
                )
        last = str(rows[-1].id)


def downgrade() -> None:
    op.drop_index("ix_experiences_signature_keys", table_name="experiences")
    op.drop_column("experiences", "signature_keys")
    op.drop_column("experiences", "error_signatures")
    for table in ("outcomes", "experiences", "sessions"):
        op.drop_column(table, "environment")
