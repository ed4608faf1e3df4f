"""What of an experience search sees: the text for BM25 and the text for the embedding."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plurum_backend.search.fulltext import IndexDoc
from plurum_backend.store.models import Experience
from plurum_backend.store.visibility import audience_of

_ITEM_KEYS = ("description", "reason", "impact", "workaround", "filename", "language")


def item_text(item: dict[str, Any]) -> str:
    """The words of one dead end / breakthrough / gotcha / artifact, known keys first."""
    parts = [str(item[k]) for k in _ITEM_KEYS if isinstance(item.get(k), str)]
    for key in ("code", "content"):
        if isinstance(item.get(key), str):
            parts.append(item[key])
    for key, value in item.items():
        if key not in _ITEM_KEYS and key not in ("code", "content") and isinstance(value, str):
            parts.append(value)
    return " ".join(p for p in parts if p)


def _items(items: Iterable[dict[str, Any]]) -> str:
    return "\n".join(item_text(i) for i in items)


def _domain(exp: Experience) -> str:
    """The domain, unless it is already one of the tags (a session's domain becomes a tag)."""
    domain = (exp.domain or "").strip()
    return "" if domain.lower() in exp.tags else domain


def index_doc(exp: Experience) -> IndexDoc:
    body = "\n".join(
        part
        for part in (
            exp.solution or "",
            _domain(exp),
            exp.context,
            _items(exp.dead_ends),
            _items(exp.breakthroughs),
            _items(exp.gotchas),
            _items(exp.artifacts),
        )
        if part
    )
    return IndexDoc(
        id=str(exp.id),
        audience=audience_of(exp),
        tags=tuple(exp.tags),
        quality=exp.quality_score,
        goal=exp.goal,
        body=body,
    )


def embedding_text(exp: Experience) -> str:
    """Meaning first: the model reads only ~256 tokens, so goal, solution, insights and
    pitfalls lead."""
    descriptions = [
        str(i.get("description", ""))
        for i in (*exp.breakthroughs, *exp.gotchas, *exp.dead_ends)
        if i.get("description")
    ]
    topics = " ".join([_domain(exp), *exp.tags]).strip()
    parts = [exp.goal, exp.solution or "", topics, *descriptions, exp.context]
    return "\n".join(p for p in parts if p)
