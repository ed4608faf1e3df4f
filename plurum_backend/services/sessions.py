"""Sessions: open, log, close into an experience, abandon, read, contribute."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from plurum_backend.runtime import Plurum, Tx
from plurum_backend.search import vectors
from plurum_backend.services import duplicates, experiences, held, hints, pulse, render
from plurum_backend.services.content import check_object, normalize_entry
from plurum_backend.services.scrub import Scrub, environment_of
from plurum_backend.services.search import normalize_tags, relevant_hits
from plurum_backend.store import experiences as experience_store
from plurum_backend.store import sessions as store
from plurum_backend.store.models import Agent, Contribution, Entry, Session

NOT_FOUND = "Session not found"
RELEVANT_LIMIT = 5
ACTIVE_LIMIT = 5
ACTIVE_MIN_SIMILARITY = 0.3


def session_text(topic: str, domain: str | None, tools: list[str]) -> str:
    return " ".join([topic, domain or "", " ".join(tools)]).strip()


async def open_session(
    plurum: Plurum, tx: Tx, agent: Agent, body: s.SessionOpenRequest
) -> s.SessionOpenResponse:
    scrub = Scrub(screen=True)
    topic = scrub.text(body.topic.strip(), "topic")
    domain = scrub.maybe(body.domain.strip() if body.domain else None, "domain")
    tools = normalize_tags(scrub.texts(body.tools_used, "tools_used"))
    text = session_text(topic, domain, tools)
    session = Session(
        id=uuid.uuid4(),
        agent_id=agent.id,
        topic=topic,
        domain=domain,
        tools_used=tools,
        visibility=body.visibility,
        status="open",
        environment=environment_of(scrub, body.environment),
        embedding=(await plurum.embedder.aembed_query(text)).tolist(),
    )
    held.hold_session(session, await scrub.reasons())
    await vectors.hold(plurum.embedder, tx.db)
    tx.db.add(session)
    await tx.db.flush()
    await tx.db.refresh(session)
    await pulse.session_opened(plurum, tx, session, agent)

    # The same ranking and relevance floor as search (services.search.relevant_hits).
    relevant = await relevant_hits(
        plurum,
        tx.db,
        agent.id,
        query=text,
        limit=RELEVANT_LIMIT,
        packages=(session.environment or {}).get("packages"),
    )
    nearby = await store.similar_open(
        tx.db,
        session.embedding,
        exclude_agent=agent.id,
        exclude_session=session.id,
        min_similarity=ACTIVE_MIN_SIMILARITY,
        limit=ACTIVE_LIMIT,
    )
    names = await store.usernames(tx.db, [other.agent_id for other, _ in nearby])
    active = [
        s.ActiveSessionCard.model_validate(
            {**render.session_fields(other, names[other.agent_id]), "similarity": round(sim, 4)}
        )
        for other, sim in nearby
    ]
    return s.SessionOpenResponse(
        session_id=str(session.id),
        status="open",
        visibility=session.visibility,
        relevant_experiences=relevant.hits,
        relevant_empty_reason=relevant.empty_reason,
        active_sessions=active,
        redactions=scrub.report(),
        held=held.held_of_session(session),
    )


async def _own_session(tx: Tx, session_id: uuid.UUID, agent: Agent, action: str) -> Session:
    session = await store.visible(tx.db, session_id, agent.id, lock=True)
    if session is None:
        raise NotFound(NOT_FOUND)
    if session.agent_id != agent.id:
        raise Forbidden(f"Only the session's owner can {action} it.")
    return session


def _require_open(session: Session, action: str) -> None:
    if session.status != "open":
        raise Conflict(f"The session is {session.status}; only an open session can {action}.")


async def log_entry(
    plurum: Plurum, tx: Tx, session_id: uuid.UUID, agent: Agent, body: s.EntryRequest
) -> s.EntryCreated:
    scrub = Scrub(screen=True)
    where = f"entry ({body.entry_type})"
    refused: Invalid | None = None
    try:
        content = scrub.object(
            normalize_entry(body.entry_type, body.content),
            where,
            artifact=body.entry_type == "artifact",
        )
    except Invalid as exc:  # raised after the session checks, whose answers come first
        refused, content = exc, {}
    # The embedding starts first and runs beside everything below (the model releases the
    # interpreter): with a core free for the model, an entry that gets no hint waits for the
    # longer of the two, not their sum (docs/hints.md, Cost). A refused request cancels it
    # (a model call not yet started is skipped).
    pending = hints.EntryHints(plurum, agent.id, content)
    try:
        if plurum.settings.hints:
            # the entry's embedding is a vector: refused if plurum reembed switched the
            # embedder, and the swap waits for this write. Held before the session row is
            # locked, as the swap locks the embedder record first and open sessions after.
            await vectors.hold(plurum.embedder, tx.db)
        session = await _own_session(tx, session_id, agent, "log to")
        _require_open(session, "take entries")
        if refused is not None:
            raise refused
        environment = environment_of(scrub, body.environment) or session.environment
        held.hold_session(session, await scrub.reasons())
        entry = Entry(
            id=uuid.uuid4(),
            session_id=session.id,
            entry_type=body.entry_type,
            content=content,
            embedding=pending.ready(),  # when the embedding already finished; else below
        )
        tx.db.add(entry)
        await tx.db.flush()
        await tx.db.refresh(entry)
        await pending.vector()
        await pending.store(tx, entry.id)
        found = await pending.hints(tx, (environment or {}).get("packages"))
    finally:
        await pending.close()
    hints.announce(tx, session, entry.id, found)
    made = render.entry_out(entry).model_dump()
    return s.EntryCreated(
        **made, redactions=scrub.report(), hints=found, held=held.held_of_session(session)
    )


def _context(session: Session, entries: list[Entry]) -> str:
    lines = []
    if session.domain:
        lines.append(f"Domain: {session.domain}")
    if session.tools_used:
        lines.append(f"Tools: {', '.join(session.tools_used)}")
    for entry in entries:
        if entry.entry_type in ("update", "note"):
            lines.append(str(entry.content.get("description", "")))
    return "\n".join(lines)


async def close(
    plurum: Plurum, tx: Tx, session_id: uuid.UUID, agent: Agent, body: s.SessionCloseRequest
) -> s.SessionCloseResponse:
    await vectors.hold(plurum.embedder, tx.db)  # before the session's lock, as in log_entry
    session = await _own_session(tx, session_id, agent, "close")
    _require_open(session, "be closed")
    entries = await store.entries(tx.db, session.id)
    if not entries:
        raise Conflict("The session has no entries to assemble; abandon it instead.")

    def of(kind: str) -> list[dict[str, object]]:
        return [dict(e.content) for e in entries if e.entry_type == kind]

    def vectors_of(kind: str) -> dict[tuple[str, int], object]:
        # the entries' own embeddings become the experience's item vectors (no re-embedding)
        return {
            (kind, i): e.embedding for i, e in enumerate(x for x in entries if x.entry_type == kind)
        }

    scrub = Scrub(screen=True)
    solution = scrub.maybe(body.solution.strip() if body.solution else None, "solution")
    draft = experiences.Draft(
        agent_id=agent.id,
        goal=session.topic,
        solution=solution,
        domain=session.domain,
        context=_context(session, entries),
        dead_ends=of("dead_end"),
        breakthroughs=of("breakthrough"),
        gotchas=of("gotcha"),
        artifacts=of("artifact"),
        tags=[t for t in [session.domain or "", *session.tools_used] if t],
        visibility=session.visibility,
        status="published" if body.publish else "draft",
        outcome=body.outcome,
        session_id=session.id,
        item_vectors={k: v for kind in hints.ITEM_KINDS for k, v in vectors_of(kind).items()},
        environment=session.environment,
        held_reasons=held.merge(session.held_reasons, await scrub.reasons()),
    )
    exp = await experiences.store_draft(plurum, tx, draft)
    session.status = "closed"
    session.outcome = body.outcome
    session.ended_at = datetime.now(UTC)
    session.experience_id = exp.id
    await tx.db.flush()
    await pulse.session_closed(plurum, tx, session, agent, exp)
    return s.SessionCloseResponse(
        session_id=str(session.id),
        status="closed",
        experience=await duplicates.detail(tx.db, exp, agent.username, agent.id),
    )


async def update(
    plurum: Plurum, tx: Tx, session_id: uuid.UUID, agent: Agent, body: s.SessionUpdateRequest
) -> s.SessionDetail:
    """Change an open session's domain, tools or visibility (its owner only).

    The session's embedding follows its text, so related sessions and pulse matching see
    the new domain and tools at once.
    """
    given = body.model_fields_set
    if not given:
        raise Invalid("Give at least one of domain, tools_used, visibility.")
    if given & {"domain", "tools_used"}:
        await vectors.hold(plurum.embedder, tx.db)  # the embedding changes (see log_entry)
    session = await _own_session(tx, session_id, agent, "change")
    _require_open(session, "be changed")
    scrub = Scrub(screen=True)
    if "domain" in given:
        session.domain = scrub.maybe(body.domain.strip() if body.domain else None, "domain") or None
    if "tools_used" in given:
        session.tools_used = normalize_tags(scrub.texts(body.tools_used or [], "tools_used"))
    held.hold_session(session, await scrub.reasons())
    if "visibility" in given and body.visibility is not None:
        session.visibility = body.visibility
    if given & {"domain", "tools_used"}:
        text = session_text(session.topic, session.domain, list(session.tools_used))
        session.embedding = (await plurum.embedder.aembed_query(text)).tolist()
    await tx.db.flush()
    return await get(tx.db, session.id, agent)


async def abandon(tx: Tx, session_id: uuid.UUID, agent: Agent) -> s.SessionAbandonResponse:
    session = await _own_session(tx, session_id, agent, "abandon")
    _require_open(session, "be abandoned")
    session.status = "abandoned"
    session.ended_at = datetime.now(UTC)
    await tx.db.flush()
    return s.SessionAbandonResponse(session_id=str(session.id), status="abandoned")


async def list_page(
    db: AsyncSession, viewer: Agent | None, status: str | None, limit: int, offset: int
) -> s.SessionList:
    rows, total = await store.page(
        db, owner=viewer.id if viewer else None, status=status, limit=limit, offset=offset
    )
    names = await store.usernames(db, [r.agent_id for r in rows])
    return s.SessionList(
        sessions=[render.session_card(r, names[r.agent_id]) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


async def get(db: AsyncSession, session_id: uuid.UUID, viewer: Agent | None) -> s.SessionDetail:
    viewer_id = viewer.id if viewer else None
    session = await store.visible(db, session_id, viewer_id)
    if session is None:
        raise NotFound(NOT_FOUND)
    names = await store.usernames(db, [session.agent_id])
    is_owner = viewer_id == session.agent_id
    experience = None
    if session.experience_id is not None:
        found = await experience_store.with_authors(
            db, [session.experience_id], viewer_id, discover=False
        )
        if session.experience_id in found:
            experience = render.experience_card(*found[session.experience_id])
    entries = contributions = None
    if is_owner:
        entries = [render.entry_out(e) for e in await store.entries(db, session.id)]
        contributions = [
            render.contribution_out(c) for c in (await store.contributions(db, session.id))[0]
        ]
    return s.SessionDetail.model_validate(
        {
            **render.session_fields(session, names[session.agent_id]),
            "outcome": session.outcome,
            "ended_at": session.ended_at,
            "experience": experience,
            "entry_count": await store.entry_count(db, session.id),
            "entries": entries,
            "contributions": contributions,
            "held": held.held_of_session(session) if is_owner else None,
        }
    )


async def contribute(
    tx: Tx, session_id: uuid.UUID, agent: Agent, body: s.ContributionRequest
) -> s.ContributionCreated:
    session = await store.visible(tx.db, session_id, agent.id)
    if session is None or (session.visibility == "private" and session.agent_id != agent.id):
        raise NotFound(NOT_FOUND)
    if session.agent_id == agent.id:
        raise BadRequest("You cannot contribute to your own session.")
    if session.status != "open":
        raise Conflict(f"The session is {session.status}; contributions need an open session.")
    check_object(body.content)
    if not body.content:
        raise Invalid("content must not be empty.")
    scrub = Scrub(screen=True)
    content = scrub.object(body.content, "content")
    reasons = await scrub.reasons()
    if reasons:
        raise Invalid(f"{held.CONTRIBUTION_REFUSED} ({held.summary_text(reasons)}).")
    contribution = Contribution(
        id=uuid.uuid4(),
        session_id=session.id,
        agent_id=agent.id,
        contribution_type=body.contribution_type,
        content=content,
    )
    tx.db.add(contribution)
    await tx.db.flush()
    await tx.db.refresh(contribution)
    pulse.contribution_received(tx, session, contribution, agent)
    made = render.contribution_out(contribution).model_dump()
    return s.ContributionCreated(**made, redactions=scrub.report())


async def contributions_page(
    db: AsyncSession, session_id: uuid.UUID, agent: Agent, limit: int, offset: int
) -> s.ContributionList:
    session = await store.visible(db, session_id, agent.id)
    if session is None:
        raise NotFound(NOT_FOUND)
    if session.agent_id != agent.id:
        raise Forbidden("Only the session's owner can read its contributions.")
    rows, total = await store.contributions(db, session.id, limit, offset)
    return s.ContributionList(
        contributions=[render.contribution_out(c) for c in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
