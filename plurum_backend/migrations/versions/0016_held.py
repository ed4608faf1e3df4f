"""Held experiences: text that reads as instructions to the reading agent (docs/trust.md).

- ``experiences.held_at`` / ``held_reasons``: set when the detector (services/injection.py)
  finds such text at write time; a held experience is seen only by its owner until whoever
  runs the instance releases it (``plurum review release``) or deletes it.
- ``sessions.held_reasons``: an entry (or the topic) of an open session tripped the detector;
  the session is hidden from other agents and the experience it closes into is held.

Revision ID: 0016_held
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016_held"
down_revision = "0015_drift"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experiences", sa.Column("held_at", sa.DateTime(timezone=True)))
    op.add_column("experiences", sa.Column("held_reasons", JSONB))
    op.add_column("sessions", sa.Column("held_reasons", JSONB))
    op.execute(
        "CREATE INDEX ix_experiences_held ON experiences (held_at) WHERE held_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_experiences_held", table_name="experiences")
    op.drop_column("sessions", "held_reasons")
    op.drop_column("experiences", "held_reasons")
    op.drop_column("experiences", "held_at")
