"""The one place that says who may see what. Every read of private data goes through here."""

from __future__ import annotations

import uuid

from sqlalchemy import BindParameter, ColumnElement, and_, or_

from plurum_backend.store.models import Experience, Session


def experience_visible_to(
    viewer: uuid.UUID | BindParameter[uuid.UUID] | None,
) -> ColumnElement[bool]:
    """Published public experiences, plus everything the viewer owns (drafts, private).

    ``viewer`` may be a bound parameter standing for the viewer, in a statement compiled once.
    """
    shared = and_(Experience.visibility == "public", Experience.status == "published")
    return shared if viewer is None else or_(shared, Experience.agent_id == viewer)


def session_visible_to(viewer: uuid.UUID | None) -> ColumnElement[bool]:
    shared = Session.visibility == "public"
    return shared if viewer is None else or_(shared, Session.agent_id == viewer)


def audience_of(experience: Experience) -> tuple[str, ...]:
    """The same rule as experience_visible_to, as terms for the full-text index."""
    owner = str(experience.agent_id)
    if experience.visibility == "public" and experience.status == "published":
        return ("public", owner)
    return (owner,)


def audience_for(viewer: uuid.UUID | None) -> list[str]:
    return ["public"] if viewer is None else ["public", str(viewer)]
