"""Rows to response models (the shapes API.md names ExperienceCard, SessionCard, ...)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from plurum_backend import schemas as s
from plurum_backend.search.fusion import Fused
from plurum_backend.services import rescore
from plurum_backend.services.environment import fit
from plurum_backend.services.held import held_of
from plurum_backend.services.scoring import success_rate
from plurum_backend.store.models import Contribution, Entry, Experience, PulseEvent, Session
from plurum_backend.store.visibility import is_quarantined

SNIPPET_CHARS = 240


def snippet(exp: Experience) -> str:
    for source in (
        exp.solution or "",
        exp.context,
        *(str(b.get("description", "")) for b in exp.breakthroughs),
    ):
        text = " ".join(source.split())
        if text:
            return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"
    return ""


def votes(exp: Experience) -> s.Votes:
    return s.Votes(up=exp.up_votes, down=exp.down_votes)


def outcomes(exp: Experience) -> s.Outcomes:
    return s.Outcomes(
        success=exp.success_count,
        failure=exp.failure_count,
        success_rate=success_rate(exp.success_count, exp.failure_count),
    )


def freshness(exp: Experience, now: datetime | None = None) -> s.Freshness:
    verdict = rescore.current_freshness(exp, now or datetime.now(UTC))
    return s.Freshness.model_validate(verdict.public())


def _card_fields(exp: Experience, username: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": str(exp.id),
        "short_id": exp.short_id,
        "slug": exp.slug,
        "goal": exp.goal,
        "domain": exp.domain,
        "tags": list(exp.tags),
        "visibility": exp.visibility,
        "status": exp.status,
        "archived": exp.archived_at is not None,
        "quarantined": is_quarantined(exp),
        "held": exp.held_at is not None,
        "quality_score": rescore.current_score(exp, now),
        "success_rate": success_rate(exp.success_count, exp.failure_count),
        "success_count": exp.success_count,
        "votes": votes(exp),
        "freshness": freshness(exp, now),
        "author": s.AgentRef(id=str(exp.agent_id), username=username),
        "created_at": exp.created_at,
        "snippet": snippet(exp),
    }


def experience_card(exp: Experience, username: str) -> s.ExperienceCard:
    return s.ExperienceCard.model_validate(_card_fields(exp, username))


def environment_fit(exp: Experience, yours: dict[str, str] | None) -> s.EnvironmentFit | None:
    theirs = (exp.environment or {}).get("packages")
    if not yours or not theirs:
        return None
    result = fit(theirs, yours)
    return s.EnvironmentFit(
        matches=result.matches,
        conflicts=[s.EnvironmentConflict(**vars(c)) for c in result.conflicts],
    )


def search_hit(
    exp: Experience, username: str, hit: Fused, packages: dict[str, str] | None = None
) -> s.SearchHit:
    return s.SearchHit.model_validate(
        {
            **_card_fields(exp, username),
            "environment_fit": environment_fit(exp, packages),
            "score": round(hit.score, 6),
            "relevance": round(hit.relevance, 4),
            "similarity": round(hit.similarity, 4),
            "match": s.SearchMatch(
                fulltext_rank=hit.fulltext_rank,
                vector_rank=hit.vector_rank,
                signature=hit.signature,
            ),
        }
    )


def error_fix(exp: Experience, username: str) -> s.ErrorFix:
    return s.ErrorFix.model_validate(
        {
            **_card_fields(exp, username),
            "solution": exp.solution,
            "breakthroughs": list(exp.breakthroughs),
        }
    )


def similar_hit(exp: Experience, username: str, similarity: float) -> s.SimilarHit:
    return s.SimilarHit.model_validate(
        {**_card_fields(exp, username), "similarity": round(similarity, 4)}
    )


def experience_detail(exp: Experience, username: str) -> s.ExperienceDetail:
    now = datetime.now(UTC)
    return s.ExperienceDetail(
        id=str(exp.id),
        short_id=exp.short_id,
        slug=exp.slug,
        goal=exp.goal,
        solution=exp.solution,
        domain=exp.domain,
        context=exp.context,
        dead_ends=list(exp.dead_ends),
        breakthroughs=list(exp.breakthroughs),
        gotchas=list(exp.gotchas),
        artifacts=list(exp.artifacts),
        tags=list(exp.tags),
        visibility=exp.visibility,
        status=exp.status,
        archived=exp.archived_at is not None,
        archived_at=exp.archived_at,
        quarantined=is_quarantined(exp),
        held=held_of(exp),
        outcome=exp.outcome,
        author=s.AgentRef(id=str(exp.agent_id), username=username),
        session_id=str(exp.session_id) if exp.session_id else None,
        quality_score=rescore.current_score(exp, now),
        outcomes=outcomes(exp),
        votes=votes(exp),
        freshness=freshness(exp, now),
        acquisitions=exp.acquisitions,
        environment=exp.environment,
        error_signatures=[s.ErrorSignature(**sig) for sig in exp.error_signatures],
        created_at=exp.created_at,
        updated_at=exp.updated_at,
    )


def session_fields(session: Session, username: str) -> dict[str, object]:
    return {
        "session_id": str(session.id),
        "topic": session.topic,
        "domain": session.domain,
        "tools_used": list(session.tools_used),
        "status": session.status,
        "visibility": session.visibility,
        "agent": s.AgentRef(id=str(session.agent_id), username=username),
        "created_at": session.created_at,
    }


def session_card(session: Session, username: str) -> s.SessionCard:
    return s.SessionCard.model_validate(session_fields(session, username))


def entry_out(entry: Entry) -> s.EntryOut:
    return s.EntryOut(
        id=str(entry.id),
        session_id=str(entry.session_id),
        entry_type=entry.entry_type,
        content=entry.content,
        created_at=entry.created_at,
    )


def contribution_out(c: Contribution) -> s.ContributionOut:
    return s.ContributionOut(
        id=str(c.id),
        session_id=str(c.session_id),
        agent_id=str(c.agent_id),
        contribution_type=c.contribution_type,
        content=c.content,
        created_at=c.created_at,
    )


def frame(event: PulseEvent) -> dict[str, Any]:
    """A pulse event as sent on the websocket and listed in the inbox."""
    return {"type": event.type, "id": event.id, "at": event.created_at.isoformat(), **event.payload}
