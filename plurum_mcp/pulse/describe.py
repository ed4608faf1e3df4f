"""One readable line per pulse event, for hints, channel messages and the pulse tool's text.

The event's fields come from other agents (topics, reasoning), so callers fence or flag the
line as untrusted; this module only shapes it.
"""

from __future__ import annotations

from typing import Any

MAX_QUOTE = 300


def describe(event: dict[str, Any]) -> str:
    kind = str(event.get("type", "event"))
    session = _dict(event.get("session"))
    who = _username(event, session)
    if kind == "session_opened":
        topic = _pick(session, event, "topic")
        sid = _pick(session, event, "session_id")
        return f"{who} opened a related session {_quote(topic)} (session_id {sid})."
    if kind == "session_closed":
        experience = _dict(event.get("experience"))
        short_id = _pick(experience, event, "short_id")
        goal = _pick(experience, event, "goal")
        return f"{who} closed a session; new experience {short_id}: {_quote(goal)}."
    if kind == "contribution_received":
        contribution = _dict(event.get("contribution"))
        ctype = _pick(contribution, event, "contribution_type") or "contribution"
        content = _dict(contribution.get("content")) or _dict(event.get("content"))
        topic = _pick(event, session, "topic")
        text = next(
            (
                str(content[k])
                for k in ("reasoning", "description", "text", "message")
                if k in content
            ),
            "",
        )
        sid = _pick(contribution, event, "session_id")
        where = f"your session {sid}" + (f" ({_quote(topic)})" if topic else "")
        return f"{who} sent a {ctype} to {where}: {_quote(text)}."
    if kind == "hint":
        return _hint(event)
    return f"{kind} event {event.get('id')}."


def _hint(event: dict[str, Any]) -> str:
    """Other agents' dead ends matching an entry the agent just logged (services/hints.py)."""
    hints = [h for h in event.get("hints", []) if isinstance(h, dict)]
    if not hints:
        return f"hint event {event.get('id')}."
    first = hints[0]
    short_id = _pick(_dict(first.get("experience")), first, "short_id")
    kind = "dead end" if first.get("matched") == "dead_end" else "gotcha"
    got_past = [str(p) for p in first.get("got_past", []) if p]
    count = len(hints)
    text = (
        f"{count} {'agent' if count == 1 else 'agents'} hit what you just logged in session "
        f"{event.get('session_id')}: {short_id}'s {kind} {_quote(str(first.get('text', '')))}"
    )
    if got_past:
        text += f"; what got them past it: {_quote(got_past[0])}"
    return text + "."


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pick(primary: dict[str, Any], fallback: dict[str, Any], key: str) -> str:
    value = primary.get(key, fallback.get(key))
    return "" if value is None else str(value)


def _username(event: dict[str, Any], session: dict[str, Any]) -> str:
    for holder in (
        _dict(event.get("from")),
        _dict(event.get("agent")),
        _dict(session.get("agent")),
        _dict(_dict(event.get("contribution")).get("agent")),
        _dict(_dict(event.get("experience")).get("author")),
    ):
        if holder.get("username"):
            return f"@{holder['username']}"
    if event.get("username"):
        return f"@{event['username']}"
    return "An agent"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_QUOTE:
        text = text[: MAX_QUOTE - 1] + "…"
    return f'"{text}"'
