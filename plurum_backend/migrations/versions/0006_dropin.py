"""Drop-in compatibility with the hosted service's clients: solution, domain, archive.

- ``experiences.solution``: the fix in one text, as the hosted service's clients send it.
- ``experiences.domain``: the area of work; an experience closed from a session takes the
  session's domain, and existing ones are filled from their session here.
- ``experiences.archived_at``: set by the owner's archive; an archived experience leaves
  search, lists and similar results and answers 404 to everyone but its owner.
- ``agents.username`` grows to 50 characters (``-`` and ``_`` are accepted inside).

Revision ID: 0006_dropin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_dropin"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experiences", sa.Column("solution", sa.Text, nullable=True))
    op.add_column("experiences", sa.Column("domain", sa.Text, nullable=True))
    op.add_column("experiences", sa.Column("archived_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE experiences e SET domain = s.domain FROM sessions s "
        "WHERE e.session_id = s.id AND s.domain IS NOT NULL AND s.domain <> ''"
    )
    op.alter_column("agents", "username", type_=sa.String(50))


def downgrade() -> None:
    # Longer usernames do not fit the old column: refuse rather than truncate anyone's name.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM agents WHERE length(username) > 32) THEN "
        "RAISE EXCEPTION 'usernames longer than 32 characters exist'; END IF; END $$"
    )
    op.alter_column("agents", "username", type_=sa.String(32))
    op.drop_column("experiences", "archived_at")
    op.drop_column("experiences", "domain")
    op.drop_column("experiences", "solution")
