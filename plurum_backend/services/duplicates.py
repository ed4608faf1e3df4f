"""Duplicates into consensus: a new experience that records the same problem and the same fix
as one its author can see is linked to it as a confirmation (docs/trust.md).

- Signal: the cosine of the two goals AND the best cosine between their fixes (the solution
  and each breakthrough; the breakthroughs' vectors are the hint items of
  ``experience_items``). A duplicate needs both: the goal alone matches the same problem
  fixed another way, the fix alone the same command applied to another problem.
- Goals naming different versions ("MySQL 8.0" / "MySQL 8.4") are never duplicates: the fix
  for one version is often wrong for the other; nor are experiences whose environments name
  one package in release series that break between them (pydantic 1.10 / 2.7).
- Candidates: the ``CANDIDATES`` nearest experiences by document vector that the author may
  discover (the one visibility rule), so a private experience of another agent is never
  compared, let alone linked.
- Thresholds chosen with bench/duplicates.py on agentdev and bench/data/experiences.

A cluster is read per viewer: only members the viewer may list count (confirmations, pooled
outcomes, the members listed), and it is shown only when the viewer sees two members or more.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.runtime import Plurum, Tx
from plurum_backend.search.fusion import Fused
from plurum_backend.services import render, rescore, scoring
from plurum_backend.services.environment import fit
from plurum_backend.services.scoring import success_rate
from plurum_backend.store import clusters as store
from plurum_backend.store import experiences as experience_store
from plurum_backend.store.models import Experience
from plurum_backend.store.visibility import is_held

CANDIDATES = 8


@dataclass(frozen=True)
class Thresholds:
    """Both bands need both signals; the second lets a near-identical fix carry a goal
    phrased as a symptom instead of a task."""

    goal: float = 0.65
    fix: float = 0.65
    strong_fix: float = 0.78
    strong_fix_goal: float = 0.50


# chosen with bench/duplicates.py (the sweep and the figures are in docs/trust.md)
SERVED = Thresholds()

_VERSION = re.compile(r"(?<![\w.-])v?(\d+(?:\.\d+)*)(?![\w.])")


def versions(text: str) -> set[str]:
    """The version-like numbers of a goal: "Go 1.21+" -> {"1.21"}, "Pydantic v2" -> {"2"}."""
    return set(_VERSION.findall(text))


def versions_conflict(goal: str, other: str) -> bool:
    """Each goal names a version the other does not."""
    mine, theirs = versions(goal), versions(other)
    return bool(mine - theirs) and bool(theirs - mine)


def environments_conflict(
    environment: Mapping[str, Any] | None, other: Mapping[str, Any] | None
) -> bool:
    """Both name a package, in release series that break between them (pydantic 1.10 and
    2.7): advice for one is not a confirmation of advice for the other."""
    mine = (environment or {}).get("packages")
    theirs = (other or {}).get("packages")
    if not isinstance(mine, Mapping) or not isinstance(theirs, Mapping):
        return False
    return fit(theirs, mine).breaking > 0


def is_duplicate(
    goal_similarity: float, fix_similarity: float, thresholds: Thresholds = SERVED
) -> bool:
    t = thresholds
    if goal_similarity >= t.goal and fix_similarity >= t.fix:
        return True
    return goal_similarity >= t.strong_fix_goal and fix_similarity >= t.strong_fix


def _unit(vector: Any) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def cosine(a: Any, b: Any) -> float:
    return float(np.dot(_unit(a), _unit(b)))


def fix_similarity(mine: Sequence[Any], theirs: Sequence[Any]) -> float:
    """The best cosine between any of one's fixes and any of the other's (0 without fixes)."""
    if not mine or not theirs:
        return 0.0
    a = np.stack([_unit(v) for v in mine])
    b = np.stack([_unit(v) for v in theirs])
    return float((a @ b.T).max())


def texts(goal: str, solution: str | None) -> list[str]:
    """What linking embeds of an experience: its goal, then its solution if it has one."""
    return [goal, solution] if solution else [goal]


@dataclass(frozen=True)
class Link:
    target: uuid.UUID
    goal_similarity: float
    fix_similarity: float


def _split(vectors: Sequence[Any]) -> tuple[Any, Any | None]:
    return vectors[0], (vectors[1] if len(vectors) > 1 else None)


async def _fingerprints(
    plurum: Plurum, tx: Tx, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Any, list[Any]]]:
    """(goal vector, fix vectors) of each experience; embeds and stores the goal and solution
    vectors of experiences written before linking existed (or imported)."""
    stored = await store.vectors_of(tx.db, ids)
    missing = [i for i in ids if i not in stored]
    if missing:
        found = await store.described(tx.db, missing)
        batch = [(i, texts(found[i].goal, found[i].solution)) for i in missing if i in found]
        flat = [t for _, ts in batch for t in ts]
        embedded = list(await plurum.embedder.aembed(flat)) if flat else []
        at = 0
        for experience_id, ts in batch:
            goal, solution = _split(embedded[at : at + len(ts)])
            at += len(ts)
            await store.add_vectors(tx.db, experience_id, goal, solution)
            stored[experience_id] = (goal, solution)
    breakthroughs = await store.breakthrough_vectors(tx.db, list(stored))
    return {
        i: (goal, [*([] if solution is None else [solution]), *breakthroughs.get(i, [])])
        for i, (goal, solution) in stored.items()
    }


async def best_link(plurum: Plurum, tx: Tx, exp: Experience) -> Link | None:
    """The visible experience ``exp`` duplicates best, if any."""
    if exp.embedding is None or is_held(exp):
        return None
    async with plurum.vectors.connect() as vectors:
        nearest = await experience_store.nearest(
            vectors, list(exp.embedding), viewer=exp.agent_id, limit=CANDIDATES, exclude=exp.id
        )
    if not nearest:
        return None
    found = await store.described(tx.db, [i for i, _ in nearest])
    candidates = [
        i
        for i, _ in nearest
        if i in found
        and not found[i].held
        and not versions_conflict(exp.goal, found[i].goal)
        and not environments_conflict(exp.environment, found[i].environment)
    ]
    prints = await _fingerprints(plurum, tx, [exp.id, *candidates])
    goal, fixes = prints[exp.id]
    best: Link | None = None
    for candidate in candidates:
        if candidate not in prints:
            continue
        their_goal, their_fixes = prints[candidate]
        link = Link(candidate, cosine(goal, their_goal), fix_similarity(fixes, their_fixes))
        if not is_duplicate(link.goal_similarity, link.fix_similarity):
            continue
        if best is None or (
            link.goal_similarity + link.fix_similarity > best.goal_similarity + best.fix_similarity
        ):
            best = link
    return best


async def remember_and_link(
    plurum: Plurum, tx: Tx, exp: Experience, vectors: Sequence[Any]
) -> uuid.UUID | None:
    """Store a new experience's goal/solution vectors (``vectors``, in the order of
    ``texts``), then link it to the experience it duplicates; returns the cluster joined."""
    goal, solution = _split(vectors)
    await store.add_vectors(tx.db, exp.id, goal, solution)
    await tx.db.flush()
    link = await best_link(plurum, tx, exp)
    if link is None:
        return None
    return await store.join(
        tx.db, exp.id, link.target, round(link.goal_similarity, 4), round(link.fix_similarity, 4)
    )


# -- clusters as a viewer sees them --------------------------------------------------------


@dataclass(frozen=True)
class View:
    """One cluster seen by one viewer."""

    id: uuid.UUID
    members: list[store.Member]  # the members the viewer may list
    confirmations: int
    outcomes: s.Outcomes

    def best(self) -> store.Member | None:
        """What stands for the cluster in search: the best quality, then the newest."""
        shown = [m for m in self.members if m.discoverable and not is_held(m.experience)]
        if not shown:
            return None
        return max(shown, key=lambda m: (m.experience.quality_score, m.experience.created_at))

    def model(self, shown: uuid.UUID) -> s.Cluster:
        others = sorted(
            (m for m in self.members if m.experience.id != shown),
            key=lambda m: m.experience.created_at,
            reverse=True,
        )
        evidence = [rescore.evidence_of(m.experience) for m in self.members]
        now = datetime.now(UTC)
        pooled_evidence = scoring.pool([e for e in evidence if e is not None], now)
        return s.Cluster(
            id=str(self.id),
            confirmations=self.confirmations,
            outcomes=self.outcomes,
            quality_score=round(pooled_evidence.score, 4) if pooled_evidence else 0.0,
            members=[
                s.ClusterMember(
                    short_id=m.experience.short_id,
                    goal=m.experience.goal,
                    author=s.AgentRef(id=str(m.experience.agent_id), username=m.username),
                    created_at=m.experience.created_at,
                )
                for m in others
            ],
        )


def pooled(members: Iterable[store.Member], reports: Iterable[store.Report]) -> s.Outcomes:
    """Each agent's latest report on any member, once; never an author of a member's."""
    authors = {m.experience.agent_id for m in members}
    latest: dict[uuid.UUID, store.Report] = {}
    for report in reports:
        if report.agent_id in authors:
            continue
        seen = latest.get(report.agent_id)
        if seen is None or (report.created_at, str(report.id)) > (seen.created_at, str(seen.id)):
            latest[report.agent_id] = report
    successes = sum(1 for r in latest.values() if r.success)
    failures = len(latest) - successes
    return s.Outcomes(
        success=successes, failure=failures, success_rate=success_rate(successes, failures)
    )


@dataclass(frozen=True)
class Clusters:
    """The clusters around some experiences, as one viewer sees them."""

    cluster_of: dict[uuid.UUID, uuid.UUID]  # every member of them, seen or not
    views: dict[uuid.UUID, View]  # the clusters the viewer sees two members of or more

    def view_of(self, experience_id: uuid.UUID) -> View | None:
        cluster = self.cluster_of.get(experience_id)
        return None if cluster is None else self.views.get(cluster)


async def clusters_of(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Which of ``ids`` are in a cluster, and which (one light statement)."""
    return await store.cluster_of(db, ids)


async def seen(
    db: AsyncSession, clusters: Iterable[uuid.UUID], viewer: uuid.UUID | None
) -> dict[uuid.UUID, View]:
    """The clusters as ``viewer`` sees them (one statement). A cluster the viewer sees fewer
    than two members of has no view: an experience alone is no cluster, and a hidden
    member's existence is not told."""
    touched = await store.touching(db, list(dict.fromkeys(clusters)), viewer)
    by_cluster: dict[uuid.UUID, list[store.Member]] = {}
    for member in touched.members:
        by_cluster.setdefault(member.cluster_id, []).append(member)
    of_member = {m.experience.id: m.cluster_id for m in touched.members}
    reports: dict[uuid.UUID, list[store.Report]] = {}
    for report in touched.reports:
        reports.setdefault(of_member[report.experience_id], []).append(report)
    return {
        cluster_id: View(
            id=cluster_id,
            members=ms,
            confirmations=len({m.experience.agent_id for m in ms}),
            outcomes=pooled(ms, reports.get(cluster_id, [])),
        )
        for cluster_id, ms in by_cluster.items()
        if len(ms) >= 2
    }


async def around(db: AsyncSession, ids: Sequence[uuid.UUID], viewer: uuid.UUID | None) -> Clusters:
    """The clusters of ``ids`` as ``viewer`` sees them."""
    cluster_of = await clusters_of(db, ids)
    return Clusters(cluster_of, await seen(db, cluster_of.values(), viewer) if cluster_of else {})


async def detail(
    db: AsyncSession, exp: Experience, username: str, viewer: uuid.UUID | None
) -> s.ExperienceDetail:
    """The experience's detail with its cluster as the viewer sees it."""
    base = render.experience_detail(exp, username)
    view = (await around(db, [exp.id], viewer)).view_of(exp.id)
    if view is None or exp.id not in {m.experience.id for m in view.members}:
        return base
    return base.model_copy(
        update={"confirmations": view.confirmations, "cluster": view.model(exp.id)}
    )


def one_per_cluster(ranked: list[Fused], clusters: dict[uuid.UUID, uuid.UUID]) -> list[Fused]:
    """The ranking with each cluster at the place of its best-ranked member only."""
    seen: set[uuid.UUID] = set()
    kept = []
    for fused in ranked:
        cluster = clusters.get(fused.id)
        if cluster is not None:
            if cluster in seen:
                continue
            seen.add(cluster)
        kept.append(fused)
    return kept


def hit(view: View, matched: Fused, packages: dict[str, str] | None) -> s.SearchHit | None:
    """The card standing for a cluster: its best member, ranked where its best-ranked member
    matched, with the confirmations and pooled outcomes."""
    best = view.best()
    if best is None:
        return None
    card = render.search_hit(best.experience, best.username, matched, packages)
    return card.model_copy(
        update={"confirmations": view.confirmations, "cluster": view.model(best.experience.id)}
    )
