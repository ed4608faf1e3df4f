"""Experiences: create, read, list, similar, publish, acquire, outcomes and votes."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.errors import Conflict, Forbidden, NotFound
from plurum_backend.runtime import Plurum, Tx
from plurum_backend.search import vectors as experience_vectors
from plurum_backend.search.signatures import experience_signatures, stored_keys
from plurum_backend.services import (
    compression,
    duplicates,
    held,
    hints,
    render,
    rescore,
    scoring,
    usage,
)
from plurum_backend.services.content import list_item
from plurum_backend.services.scrub import Scrub, environment_of
from plurum_backend.services.search import normalize_tags
from plurum_backend.store import experiences as store
from plurum_backend.store.models import Acquisition, Agent, Experience, Outcome, Vote

NOT_FOUND = "Experience not found"
_BASE62 = string.ascii_letters + string.digits
SLUG_MAX = 80


def new_short_id() -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(8))


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "experience"


@dataclass
class Draft:
    """Everything needed to store a new experience, however it was made."""

    agent_id: uuid.UUID
    goal: str
    solution: str | None = None
    domain: str | None = None
    context: str = ""
    dead_ends: list[dict[str, Any]] = field(default_factory=list)
    breakthroughs: list[dict[str, Any]] = field(default_factory=list)
    gotchas: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    visibility: str = "public"
    status: str = "published"
    outcome: str | None = None
    session_id: uuid.UUID | None = None
    environment: dict[str, Any] | None = None
    # vectors already computed for items, by (kind, position): a session's entry embeddings
    item_vectors: dict[tuple[str, int], Any] = field(default_factory=dict)
    # why its text reads as instructions to the reader: the experience is stored held
    held_reasons: list[dict[str, str]] = field(default_factory=list)


def note_errors(exp: Experience) -> None:
    """Record the canonical signatures of the errors the experience quotes."""
    found = experience_signatures(
        exp.goal,
        exp.solution,
        exp.context,
        [*exp.dead_ends, *exp.breakthroughs, *exp.gotchas, *exp.artifacts],
    )
    exp.error_signatures = [sig.as_json() for sig in found]
    exp.signature_keys = stored_keys(found)


async def store_draft(plurum: Plurum, tx: Tx, draft: Draft) -> Experience:
    exp = Experience(
        id=uuid.uuid4(),
        agent_id=draft.agent_id,
        session_id=draft.session_id,
        goal=draft.goal,
        solution=draft.solution or None,
        domain=draft.domain or None,
        context=draft.context,
        dead_ends=draft.dead_ends,
        breakthroughs=draft.breakthroughs,
        gotchas=draft.gotchas,
        artifacts=draft.artifacts,
        tags=normalize_tags(draft.tags),
        visibility=draft.visibility,
        status=draft.status,
        outcome=draft.outcome,
        environment=draft.environment,
    )
    held.hold_experience(exp, draft.held_reasons)
    note_errors(exp)
    await experience_vectors.attach(plurum.embedder, tx.db, [exp], single=True)
    items = hints.ItemVectors(exp, draft.item_vectors)
    # the dead ends, gotchas and breakthroughs a session's entries did not embed, and the
    # goal and solution duplicate linking compares: one batch
    link_texts = duplicates.texts(exp.goal, exp.solution)
    embedded = list(await plurum.embedder.aembed([*items.missing, *link_texts]))
    item_vectors, link_vectors = embedded[: len(items.missing)], embedded[len(items.missing) :]
    base = slugify(draft.goal)
    while True:
        short_id = new_short_id()
        short_taken, slug_taken = await store.short_id_or_slug_taken(tx.db, short_id, base)
        if short_taken:
            continue
        exp.short_id = short_id
        exp.slug = f"{base}-{short_id.lower()}" if slug_taken else base
        break
    for _ in range(5):
        try:
            async with tx.db.begin_nested():
                tx.db.add(exp)
                await tx.db.flush()
            break
        except IntegrityError:
            # a concurrent writer took the slug (same goal) between the check and the insert
            exp.short_id = new_short_id()
            exp.slug = f"{base}-{exp.short_id.lower()}"
    else:
        raise Conflict("Could not give the experience a unique slug; try again.")
    await hints.store_items(tx, exp, items, item_vectors)
    await tx.db.flush()
    await duplicates.remember_and_link(plurum, tx, exp, link_vectors)
    await tx.db.refresh(exp)
    tx.touch(exp.id)
    if exp.status == "published":
        await usage.record(tx.db, "publish", agent_id=draft.agent_id, experience_id=exp.id)
    return exp


async def create(
    plurum: Plurum, tx: Tx, agent: Agent, body: s.ExperienceCreateRequest
) -> s.ExperienceCreated:
    scrub = Scrub(screen=True)
    draft = Draft(
        agent_id=agent.id,
        goal=scrub.text(body.goal.strip(), "goal"),
        solution=scrub.maybe(body.solution.strip() if body.solution else None, "solution"),
        domain=scrub.maybe(body.domain.strip() if body.domain else None, "domain"),
        context=scrub.text(body.context, "context"),
        dead_ends=scrub.objects([list_item("dead_end", i) for i in body.dead_ends], "dead_ends"),
        breakthroughs=scrub.objects(
            [list_item("breakthrough", i) for i in body.breakthroughs], "breakthroughs"
        ),
        gotchas=scrub.objects([list_item("gotcha", i) for i in body.gotchas], "gotchas"),
        artifacts=scrub.objects(
            [list_item("artifact", i) for i in body.artifacts], "artifacts", artifact=True
        ),
        tags=scrub.texts(body.tags, "tags"),
        visibility=body.visibility,
        environment=environment_of(scrub, body.environment),
    )
    draft.held_reasons = await scrub.reasons()
    exp = await store_draft(plurum, tx, draft)
    detail = (await duplicates.detail(tx.db, exp, agent.username, agent.id)).model_dump()
    return s.ExperienceCreated(**detail, redactions=scrub.report())


async def _visible(
    db: AsyncSession, identifier: str, viewer: uuid.UUID | None, lock: bool = False
) -> tuple[Experience, str]:
    found = await store.visible(db, identifier, viewer, lock=lock)
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


async def get(db: AsyncSession, identifier: str, viewer: uuid.UUID | None) -> s.ExperienceDetail:
    detail, _ = await read(db, identifier, viewer)
    return detail


async def read(
    db: AsyncSession, identifier: str, viewer: uuid.UUID | None
) -> tuple[s.ExperienceDetail, Experience]:
    """What ``get`` answers, and the row it was read from, for a caller that also needs the
    row's vector (``similar_to``): one read where ``get`` then ``similar`` would make two."""
    exp, username = await _visible(db, identifier, viewer)
    return await duplicates.detail(db, exp, username, viewer), exp


async def list_page(
    db: AsyncSession,
    viewer: uuid.UUID | None,
    tags: list[str],
    limit: int,
    offset: int,
    include_archived: bool = False,
) -> s.ExperienceList:
    rows, total = await store.page(
        db, viewer, normalize_tags(tags), limit, offset, include_archived=include_archived
    )
    return s.ExperienceList(
        experiences=[render.experience_card(e, u) for e, u in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


async def similar(
    plurum: Plurum, db: AsyncSession, identifier: str, viewer: uuid.UUID | None, limit: int
) -> s.SimilarResponse:
    exp, _ = await _visible(db, identifier, viewer)
    return await similar_to(plurum, db, exp, viewer, limit)


async def similar_to(
    plurum: Plurum, db: AsyncSession, exp: Experience, viewer: uuid.UUID | None, limit: int
) -> s.SimilarResponse:
    """``similar`` of an experience the viewer was already allowed to read."""
    if exp.embedding is None:
        return s.SimilarResponse(results=[])
    async with plurum.vectors.connect() as vectors:
        nearest = await store.nearest(
            vectors, list(exp.embedding), viewer=viewer, limit=limit, exclude=exp.id
        )
    rows = await store.with_authors(db, [i for i, _ in nearest], viewer)
    return s.SimilarResponse(
        results=[render.similar_hit(*rows[i], sim) for i, sim in nearest if i in rows]
    )


async def _own(tx: Tx, identifier: str, agent: Agent, action: str) -> tuple[Experience, str]:
    exp, username = await _visible(tx.db, identifier, agent.id, lock=True)
    if exp.agent_id != agent.id:
        raise Forbidden(f"Only the author can {action} this experience.")
    return exp, username


async def publish(tx: Tx, identifier: str, agent: Agent) -> s.ExperienceDetail:
    """Idempotent: publishing a published experience answers it as it is."""
    exp, username = await _own(tx, identifier, agent, "publish")
    if exp.status != "published":
        exp.status = "published"
        await tx.db.flush()
        await tx.db.refresh(exp)
        tx.touch(exp.id)
        await usage.record(tx.db, "publish", agent_id=agent.id, experience_id=exp.id)
    return await duplicates.detail(tx.db, exp, username, agent.id)


async def set_archived(tx: Tx, identifier: str, agent: Agent, archived: bool) -> s.ExperienceDetail:
    """Archive (or unarchive) the caller's experience; doing it twice changes nothing."""
    exp, username = await _own(tx, identifier, agent, "archive" if archived else "unarchive")
    if (exp.archived_at is not None) != archived:
        await store.set_archived(tx.db, exp, archived)
        tx.touch(exp.id)
        kind: usage.Kind = "archive" if archived else "unarchive"
        await usage.record(tx.db, kind, agent_id=agent.id, experience_id=exp.id)
    return await duplicates.detail(tx.db, exp, username, agent.id)


async def acquire(tx: Tx, identifier: str, agent: Agent, mode: str) -> s.AcquireResponse:
    exp, username = await _visible(tx.db, identifier, agent.id, lock=True)
    exp.acquisitions += 1
    tx.db.add(Acquisition(id=uuid.uuid4(), experience_id=exp.id, agent_id=agent.id, mode=mode))
    await tx.db.flush()
    await usage.record(tx.db, "acquire", agent_id=agent.id, experience_id=exp.id, mode=mode)
    await tx.db.refresh(exp)
    detail = await duplicates.detail(tx.db, exp, username, agent.id)
    content, text = compression.compress(detail, mode)
    return s.AcquireResponse(
        short_id=exp.short_id, mode=mode, content=content, text=text, freshness=detail.freshness
    )


async def _rescore(tx: Tx, exp: Experience, half_life_days: float) -> None:
    await rescore.rescore(tx.db, [exp], half_life_days=half_life_days)
    await tx.db.refresh(exp)
    tx.touch(exp.id, at_once=False)  # only its quality moved: the tailer indexes it


async def report_outcome(
    tx: Tx,
    identifier: str,
    agent: Agent,
    body: s.OutcomeRequest,
    half_life_days: float = scoring.DEFAULT_HALF_LIFE_DAYS,
) -> s.OutcomeResponse:
    exp, _ = await _visible(tx.db, identifier, agent.id, lock=True)
    scrub = Scrub()
    outcome = Outcome(
        id=uuid.uuid4(),
        experience_id=exp.id,
        agent_id=agent.id,
        success=body.success,
        context_notes=scrub.maybe(body.context_notes),
        execution_time_ms=body.execution_time_ms,
        error_message=scrub.maybe(body.error_message),
        environment=environment_of(scrub, body.environment),
    )
    tx.db.add(outcome)
    await tx.db.flush()
    await _rescore(tx, exp, half_life_days)
    await usage.record(
        tx.db, "outcome", agent_id=agent.id, experience_id=exp.id, success=body.success
    )
    return s.OutcomeResponse(
        id=str(outcome.id),
        experience=s.OutcomeExperience(
            short_id=exp.short_id,
            quality_score=exp.quality_score,
            outcomes=render.outcomes(exp),
            freshness=render.freshness(exp),
        ),
        redactions=scrub.report(),
    )


async def vote(
    tx: Tx,
    identifier: str,
    agent: Agent,
    vote_type: str,
    half_life_days: float = scoring.DEFAULT_HALF_LIFE_DAYS,
) -> s.VoteResponse:
    exp, _ = await _visible(tx.db, identifier, agent.id, lock=True)
    if exp.agent_id == agent.id:
        raise Forbidden("You cannot vote on your own experience.")
    current = await store.vote_of(tx.db, exp.id, agent.id)
    result: str | None
    if current is None:
        tx.db.add(Vote(experience_id=exp.id, agent_id=agent.id, vote_type=vote_type))
        result = vote_type
    elif current.vote_type == vote_type:
        await tx.db.delete(current)
        result = None
    else:
        current.vote_type = vote_type
        current.created_at = datetime.now(UTC)  # a changed vote ages from its change
        result = vote_type
    await tx.db.flush()
    await _rescore(tx, exp, half_life_days)
    await usage.record(
        tx.db, "vote", agent_id=agent.id, experience_id=exp.id, vote=result or "undo"
    )
    return s.VoteResponse(vote=result, votes=render.votes(exp))
