"""Acquire modes: an experience compressed for an agent's context. Pure and deterministic."""

from __future__ import annotations

from typing import Any

from plurum_backend.schemas import ExperienceDetail
from plurum_backend.services.freshness import warning


def _desc(item: dict[str, Any]) -> str:
    for key in ("description", "code", "content"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _code(item: dict[str, Any]) -> str:
    """An artifact's body: its code (or content) before any description of it."""
    for key in ("code", "content", "description"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _solution(detail: ExperienceDetail) -> str:
    return (detail.solution or "").strip()


def _rate(detail: ExperienceDetail) -> str:
    o = detail.outcomes
    if o.success_rate is None:
        return "no outcomes reported yet"
    return f"{round(o.success_rate * 100)}% success over {o.success + o.failure} reports"


def _warning(detail: ExperienceDetail) -> str | None:
    """The freshness warning that leads every text form; None when fresh."""
    return warning(detail.freshness.status, detail.freshness.reason)


def _warned(detail: ExperienceDetail, text: str) -> str:
    line = _warning(detail)
    return text if line is None else f"{line}\n{text}"


def summary(detail: ExperienceDetail) -> tuple[str, str]:
    parts = [f"Goal: {detail.goal}."]
    if _solution(detail):
        parts.append(f"Solution: {_solution(detail)}.")
    if detail.breakthroughs:
        parts.append(f"Top insight: {_desc(detail.breakthroughs[0])}.")
    if detail.gotchas:
        parts.append(f"Top gotcha: {_desc(detail.gotchas[0])}.")
    parts.append(f"Success rate: {_rate(detail)}.")
    paragraph = _warned(detail, " ".join(p.replace("..", ".") for p in parts))
    return paragraph, paragraph


def checklist(detail: ExperienceDetail) -> tuple[dict[str, list[str]], str]:
    do = ([_solution(detail)] if _solution(detail) else []) + [
        _desc(b) for b in detail.breakthroughs
    ]
    dont = []
    for d in detail.dead_ends:
        reason = d.get("reason")
        dont.append(f"{_desc(d)} ({reason})" if isinstance(reason, str) and reason else _desc(d))
    watch = []
    for g in detail.gotchas:
        fix = g.get("workaround")
        watch.append(
            f"{_desc(g)} (workaround: {fix})" if isinstance(fix, str) and fix else _desc(g)
        )
    content = {"do": do, "dont": dont, "watch": watch}
    lines = [f"# {detail.goal}"]
    for title, items in (("Do", do), ("Don't", dont), ("Watch", watch)):
        if items:
            lines.append(f"## {title}")
            lines.extend(f"- {i}" for i in items)
    return content, _warned(detail, "\n".join(lines))


def decision_tree(detail: ExperienceDetail) -> tuple[dict[str, Any], str]:
    branches: list[dict[str, str]] = []
    for d in detail.dead_ends:
        reason = d.get("reason")
        branches.append(
            {
                "if": f"you try {_desc(d)}",
                "then": "don't",
                "because": reason if isinstance(reason, str) and reason else "it did not work",
            }
        )
    if _solution(detail):
        branches.append(
            {
                "if": f"you are working toward: {detail.goal}",
                "then": f"do {_solution(detail)}",
                "because": "it is the solution that worked",
            }
        )
    for b in detail.breakthroughs:
        impact = b.get("impact")
        branches.append(
            {
                "if": f"you are working toward: {detail.goal}",
                "then": f"do {_desc(b)}",
                "because": impact if isinstance(impact, str) and impact else "it worked",
            }
        )
    lines = [f"# {detail.goal}"]
    lines.extend(f"- IF {b['if']} -> {b['then']} (because {b['because']})" for b in branches)
    return {"goal": detail.goal, "branches": branches}, _warned(detail, "\n".join(lines))


def full(detail: ExperienceDetail) -> tuple[dict[str, Any], str]:
    content = detail.model_dump(mode="json")
    lines = [f"# {detail.goal}"]
    if detail.domain:
        lines += ["", f"Domain: {detail.domain}"]
    if _solution(detail):
        lines += ["", "## Solution", _solution(detail)]
    lines += ["", detail.context or "(no context)"]
    for title, items in (
        ("Dead ends", detail.dead_ends),
        ("Breakthroughs", detail.breakthroughs),
        ("Gotchas", detail.gotchas),
    ):
        if items:
            lines += ["", f"## {title}"]
            for item in items:
                extra = [f"{k}: {v}" for k, v in item.items() if k != "description" and v]
                lines.append(
                    f"- {_desc(item)}" + (f" ({'; '.join(map(str, extra))})" if extra else "")
                )
    for artifact in detail.artifacts:
        lang = artifact.get("language", "") if isinstance(artifact.get("language"), str) else ""
        label = artifact.get("filename") or artifact.get("description") or "artifact"
        lines += ["", f"## {label}", f"```{lang}", _code(artifact), "```"]
    lines += ["", f"Tags: {', '.join(detail.tags) or '-'}. Success rate: {_rate(detail)}."]
    return content, _warned(detail, "\n".join(lines))


def compress(detail: ExperienceDetail, mode: str) -> tuple[Any, str]:
    if mode == "summary":
        return summary(detail)
    if mode == "checklist":
        return checklist(detail)
    if mode == "decision_tree":
        return decision_tree(detail)
    return full(detail)
