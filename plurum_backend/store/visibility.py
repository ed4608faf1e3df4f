"""The one place that says who may see what. Every read of private data goes through here.

An experience is seen in three ways, each a little narrower than the one before:

- *read* by its identifier (``experience_visible_to``): published public ones, plus
  everything the viewer owns, archived or not;
- *listed* (``experience_listed_for``): the same without archived ones, unless their owner
  asks for them (``include_archived``);
- *discovered* in search, similar results and a session's relevant experiences
  (``experience_discoverable_by``): listed, not archived, and not quarantined.

Held experiences (text that reads as instructions to the reading agent, docs/trust.md) and
held sessions are their owner's alone, like private ones: ``held_at`` / ``held_reasons``
are part of what "shared" means here, so every read, list, search, similar, profile count
and page that asks this module inherits it.

An experience is quarantined while at least ``QUARANTINE_FAILURES`` agents' latest reports
say it failed and none says it worked (``success_count`` and ``failure_count`` already
count each agent's latest report once, the author's never): one report of success lifts it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BindParameter, ColumnElement, and_, not_, or_

from plurum_backend.store.models import Experience, Session

QUARANTINE_FAILURES = 3

Viewer = uuid.UUID | BindParameter[uuid.UUID] | None


def is_quarantined(experience: Experience) -> bool:
    return experience.failure_count >= QUARANTINE_FAILURES and experience.success_count == 0


def _quarantined() -> ColumnElement[bool]:
    return and_(Experience.failure_count >= QUARANTINE_FAILURES, Experience.success_count == 0)


def experience_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Readable by identifier: published public experiences that are not archived, plus
    everything the viewer owns (drafts, private, archived).

    ``viewer`` may be a bound parameter standing for the viewer, in a statement compiled once.
    """
    shared = and_(
        Experience.visibility == "public",
        Experience.status == "published",
        Experience.archived_at.is_(None),
        not_held(),
    )
    return shared if viewer is None else or_(shared, Experience.agent_id == viewer)


def not_held() -> ColumnElement[bool]:
    """Not held for review: the condition every view of other agents' work adds."""
    return Experience.held_at.is_(None)


def is_held(experience: Experience) -> bool:
    return experience.held_at is not None


def experience_listed_for(viewer: Viewer, include_archived: bool = False) -> ColumnElement[bool]:
    """In lists: what the viewer can read, archived ones only for their owner on request."""
    readable = experience_visible_to(viewer)
    if include_archived and viewer is not None:
        return readable
    return and_(readable, Experience.archived_at.is_(None))


def experience_discoverable_by(viewer: Viewer) -> ColumnElement[bool]:
    """In search, similar and session-open results: listed and not quarantined."""
    return and_(experience_listed_for(viewer), not_(_quarantined()))


def session_visible_to(viewer: uuid.UUID | None) -> ColumnElement[bool]:
    shared = and_(Session.visibility == "public", Session.held_reasons.is_(None))
    return shared if viewer is None else or_(shared, Session.agent_id == viewer)


def audience_of(experience: Experience) -> tuple[str, ...]:
    """The same rule as experience_discoverable_by, as terms for the full-text index.

    An archived or quarantined experience has no audience: no full-text query matches it. A
    held one is its owner's only.
    """
    if experience.archived_at is not None or is_quarantined(experience):
        return ()
    owner = str(experience.agent_id)
    if (
        experience.visibility == "public"
        and experience.status == "published"
        and not is_held(experience)
    ):
        return ("public", owner)
    return (owner,)


def audience_for(viewer: uuid.UUID | None) -> list[str]:
    return ["public"] if viewer is None else ["public", str(viewer)]


__all__ = [
    "QUARANTINE_FAILURES",
    "audience_for",
    "audience_of",
    "experience_discoverable_by",
    "experience_listed_for",
    "experience_visible_to",
    "is_held",
    "is_quarantined",
    "not_held",
    "session_visible_to",
]
