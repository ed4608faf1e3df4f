"""``plurum usage`` as text: the summary of the usage log and its newest events."""

from __future__ import annotations

from datetime import datetime

from plurum_backend.services.usage import QueryStat, UsageEventView, UsageSummary

_PLURAL = {
    "search": "searches",
    "acquire": "acquisitions",
    "outcome": "outcomes",
    "vote": "votes",
    "publish": "publishes",
    "archive": "archives",
    "unarchive": "unarchives",
}


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _queries(title: str, rows: list[QueryStat]) -> list[str]:
    if not rows:
        return []
    width = max(len(str(r.times)) for r in rows)
    return [
        title,
        *(f"  {r.times:>{width}}×  {r.query}  ({r.mean_results:.1f} results)" for r in rows),
    ]


def summary_text(s: UsageSummary) -> str:
    days = (s.until - s.since).days
    oldest = f", oldest {_when(s.oldest_event)}" if s.oldest_event else ", none yet"
    lines = [
        f"Usage over the last {days} days (since {_when(s.since)}; "
        f"events are kept {s.retention_days} days{oldest})",
        "Events: "
        + ", ".join(f"{n} {_PLURAL.get(kind, kind)}" for kind, n in s.events.items())
        + f"; {s.active_agents} active agents",
    ]
    q = s.search
    if q.searches:
        similarity = (
            f"; mean best similarity {q.mean_best_similarity:.2f}"
            if q.mean_best_similarity is not None
            else ""
        )
        if q.mean_best_relevance is not None:
            similarity += f", relevance {q.mean_best_relevance:.2f}"
        lines.append(
            f"Searches: {q.searches} by {q.searching_agents} agents and {q.anonymous} anonymous; "
            f"{q.without_results} found nothing ({_share(q.without_results, q.searches)}); "
            f"{q.mean_results or 0:.1f} results on average{similarity}"
        )
    if s.acquisitions_by_mode:
        modes = sorted(s.acquisitions_by_mode.items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("Acquisitions by mode: " + ", ".join(f"{m} {n}" for m, n in modes))
    if any(s.outcomes.values()) or any(s.votes.values()):
        lines.append(
            f"Outcomes: {s.outcomes['success']} worked, {s.outcomes['failure']} failed. "
            f"Votes: {s.votes.get('up', 0)} up, {s.votes.get('down', 0)} down, "
            f"{s.votes.get('undo', 0)} withdrawn."
        )
    lines += _queries("Most frequent queries:", s.top_queries)
    lines += _queries("Queries that found nothing:", s.unanswered_queries)
    if s.most_acquired:
        lines.append("Most acquired:")
        for e in s.most_acquired:
            lines.append(
                f"  {e.events:>4}  {e.short_id or '(deleted)'}  {e.goal or '(not public)'}"
            )
    return "\n".join(lines)


def event_text(e: UsageEventView) -> str:
    who = e.agent or "(anonymous)"
    head = f"{e.at.strftime('%Y-%m-%d %H:%M:%S')}  {e.kind:<9} {who}"
    if e.kind == "search":
        what = f'"{e.query}"' if e.query is not None else "(query not recorded)"
        best = f", best similarity {e.best_similarity:.2f}" if e.best_similarity is not None else ""
        return f"{head}  {what} → {e.result_count} results{best}"
    detail = e.experience or "(deleted)"
    if e.mode:
        detail += f" ({e.mode})"
    if e.success is not None:
        detail += " worked" if e.success else " failed"
    if e.vote:
        detail += f" {e.vote}"
    return f"{head}  {detail}"


def report_text(s: UsageSummary, events: list[UsageEventView]) -> str:
    recent = ["Recent events (newest first):", *(f"  {event_text(e)}" for e in events)]
    return summary_text(s) + ("\n" + "\n".join(recent) if events else "\nNo events recorded.")
