"""``plurum review`` as text: the queue, and one held experience in full."""

from __future__ import annotations

import json
import unicodedata

from plurum_backend import schemas as s


def safe(text: str) -> str:
    """Agent-written text for a terminal: control characters (escape sequences that could
    retitle the window or hide lines) shown escaped, never sent as they are."""
    return "".join(ch if unicodedata.category(ch)[0] != "C" else ascii(ch)[1:-1] for ch in text)


def _reason_lines(reasons: list[s.HeldReason]) -> list[str]:
    return [f"    - {r.kind} in {safe(r.field)} ({r.via}): {safe(r.excerpt)}" for r in reasons]


def queue_text(held: s.ReviewList) -> str:
    if not held.total:
        return "Nothing is held for review."
    lines = [f"{held.total} held for review (oldest first):"]
    for item in held.held:
        since = item.held_at.strftime("%Y-%m-%d %H:%M") if item.held_at else "?"
        lines.append(
            f"  {item.short_id}  {since}  {item.author.username}  "
            f"[{item.visibility}, {item.status}]  {safe(item.goal)}"
        )
        lines += _reason_lines(item.reasons)
    shown = held.offset + len(held.held)
    if shown < held.total:
        lines.append(f"  … {held.total - shown} more (--offset {shown})")
    lines.append("Read one with `plurum review show ID`; then `release ID` or `delete ID --yes`.")
    return "\n".join(lines)


def item_text(detail: s.ExperienceDetail) -> str:
    lines = [
        f"{detail.short_id}  {safe(detail.goal)}",
        f"  by {detail.author.username}, {detail.visibility}, {detail.status}, "
        f"created {detail.created_at:%Y-%m-%d %H:%M}",
    ]
    if detail.held is None:
        lines.append("  Not held.")
    else:
        since = f"{detail.held.since:%Y-%m-%d %H:%M}" if detail.held.since else "?"
        lines.append(f"  Held since {since} because:")
        lines += _reason_lines(detail.held.reasons)
    lines.append("")
    body = detail.model_dump(
        mode="json",
        include={
            "solution",
            "domain",
            "context",
            "dead_ends",
            "breakthroughs",
            "gotchas",
            "artifacts",
            "tags",
        },
    )
    # JSON with escapes: hidden characters and control codes are shown, never interpreted
    lines.append(json.dumps(body, indent=2, ensure_ascii=True))
    return "\n".join(lines)
