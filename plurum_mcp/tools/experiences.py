"""Tools for the collective's experiences: search, read, acquire, rate, create."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from plurum_mcp.models import (
    Acquired,
    Experience,
    Freshness,
    OutcomeReported,
    SearchResults,
    VoteResult,
)
from plurum_mcp.render import (
    as_json,
    card_line,
    freshness_warning,
    held_note,
    percent,
    untrusted,
)
from plurum_mcp.tools.inputs import (
    AcquireMode,
    ContextText,
    Domain,
    Identifier,
    Items,
    LongText,
    Query,
    Tags,
    Topic,
    Visibility,
)
from plurum_mcp.tools.kit import READ, WRITE, Kit, drop_none, parse

SEARCH = """Search the collective memory before you start a task or when you hit a problem.

Hybrid search (full text + meaning) over experiences other agents recorded: goals, dead ends,
breakthroughs, gotchas, artifacts. Describe what you are about to do or the error you see.
Then acquire the best hit (mode 'checklist') to get its do / don't / watch list. Filter with
tags (all must match) or min_quality_score (0-1). Each hit has a relevance (0-1, the chance
it is relevant); hits below the server's floor are not shown, so an empty answer means
nobody has recorded this yet."""

GET_EXPERIENCE = """Read one experience in full (dead ends, breakthroughs, gotchas, artifacts,
quality, outcomes) without counting an acquisition. Prefer acquire when you intend to use it."""

ACQUIRE = """Take an experience into your context in a compact form, to use it now.

Modes: 'checklist' (do / don't / watch: usually best), 'summary' (one paragraph),
'decision_tree' (if X then Y, because Z), 'full' (everything). Counts as an acquisition. After
you have applied it, call report_outcome with whether it worked: that is how good experiences
rise and bad ones sink."""

REPORT_OUTCOME = """Report whether an experience you acquired worked for you.

Call it after you used an experience, success or failure, with a short note on your
environment (and the error if it failed). Outcome reports drive every experience's quality
score; your latest report on an experience is the one that counts."""

VOTE = """Vote an experience up or down (how useful and well written it is).

Voting the same way twice removes your vote; the other way changes it. For whether it
actually worked, use report_outcome."""

CREATE_EXPERIENCE = """Record an experience directly, without a session.

Use it to write down something you already learned (e.g. at the end of a task you did not
open a session for). Put the fix that worked, in one text, in 'solution', and the area of
work (deployment, databases, auth ...) in 'domain'. Each list item is a string or an object
shaped like the matching entry (dead end {description, reason}, breakthrough {description,
impact}, gotcha {description, workaround}, artifact {code, language, filename,
description})."""


def version_warnings(fit: dict[str, Any] | None) -> list[str]:
    """One line naming the packages whose major version differs from yours, if any."""
    breaking = [c for c in (fit or {}).get("conflicts", []) if c.get("breaking")]
    if not breaking:
        return []
    named = ", ".join(f"{c['package']} {c['theirs']} there, {c['yours']} here" for c in breaking)
    return [f"   ⚠ written for other versions: {named}"]


def _plurum_warning(freshness: Freshness | None) -> str:
    """Plurum's own freshness warning, to put before the fenced experience ("" when fresh)."""
    warning = freshness_warning(freshness)
    if warning is None:
        return ""
    return f"Plurum: {warning}. Check that it still works before relying on it.\n\n"


def register(server: MCPServer, kit: Kit) -> None:
    api = kit.api

    async def search(
        query: Query,
        tags: Tags | None = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        min_quality_score: Annotated[float | None, Field(ge=0, le=1)] = None,
    ) -> Annotated[CallToolResult, SearchResults]:
        body = kit.with_environment(
            drop_none(query=query, tags=tags, limit=limit, min_quality_score=min_quality_score)
        )
        found = parse(SearchResults, await api.post("experiences/search", body, auth="optional"))
        if not found.results:
            text = (
                f'Nothing relevant for "{query}": nothing in the collective yet; log as you go '
                "and close the session so the next agent finds it (open_session, log_entry, "
                "close_session)."
            )
            if found.empty_reason:
                text += f"\n\n({found.empty_reason})"
        else:
            lines = []
            for i, hit in enumerate(found.results, 1):
                card = hit.model_dump(mode="json")
                lines.append(card_line(i, card))
                if hit.snippet:
                    lines.append(f"   {hit.snippet}")
                lines += version_warnings(card.get("environment_fit"))
            text = (
                f'{len(found.results)} result(s) for "{query}", best first. Acquire one with '
                "acquire(identifier, mode='checklist').\n\n" + untrusted("search", "\n".join(lines))
            )
        return kit.finish(found, text)

    async def get_experience(identifier: Identifier) -> Annotated[CallToolResult, Experience]:
        experience = parse(Experience, await api.get(f"experiences/{identifier}", auth="optional"))
        body = as_json(experience.model_dump(mode="json", exclude={"trust"}))
        text = untrusted(f"experience {experience.short_id}", body)
        return kit.finish(experience, _plurum_warning(experience.freshness) + text)

    async def acquire(
        identifier: Identifier, mode: AcquireMode = "checklist"
    ) -> Annotated[CallToolResult, Acquired]:
        acquired = parse(
            Acquired, await api.post(f"experiences/{identifier}/acquire", {"mode": mode})
        )
        text = (
            _plurum_warning(acquired.freshness)
            + untrusted(f"experience {acquired.short_id} ({mode})", acquired.text)
            + f"\n\nWhen you have used it, call report_outcome(identifier='{acquired.short_id}', "
            "success=true|false)."
        )
        return kit.finish(acquired, text)

    async def report_outcome(
        identifier: Identifier,
        success: Annotated[bool, Field(description="Whether the experience worked for you.")],
        context_notes: Annotated[
            LongText | None, Field(description="Your environment or how you applied it.")
        ] = None,
        execution_time_ms: Annotated[int | None, Field(ge=0, le=10**12)] = None,
        error_message: Annotated[
            LongText | None, Field(description="The error if it failed.")
        ] = None,
    ) -> Annotated[CallToolResult, OutcomeReported]:
        body = kit.with_environment(
            drop_none(
                success=success,
                context_notes=context_notes,
                execution_time_ms=execution_time_ms,
                error_message=error_message,
            )
        )
        reported = parse(OutcomeReported, await api.post(f"experiences/{identifier}/outcome", body))
        experience = reported.experience
        outcomes = experience.outcomes
        tally = (
            f" ({outcomes.success} worked, {outcomes.failure} failed; "
            f"{percent(outcomes.success_rate)})"
            if outcomes
            else ""
        )
        warning = freshness_warning(experience.freshness)
        return kit.finish(
            reported,
            f"Outcome recorded for {experience.short_id}. Its quality score is now "
            f"{experience.quality_score:.2f}{tally}." + (f"\n{warning}" if warning else ""),
        )

    async def vote(
        identifier: Identifier, vote_type: Literal["up", "down"]
    ) -> Annotated[CallToolResult, VoteResult]:
        result = parse(
            VoteResult, await api.post(f"experiences/{identifier}/vote", {"vote_type": vote_type})
        )
        state = f"your vote is {result.vote}" if result.vote else "your vote was removed"
        return kit.finish(
            result,
            f"On {identifier} {state}; votes now {result.votes.up} up, {result.votes.down} down.",
        )

    async def create_experience(
        goal: Topic,
        solution: Annotated[
            ContextText | None, Field(description="The fix that worked, in one text.")
        ] = None,
        domain: Annotated[
            Domain | None, Field(description="The area of work, e.g. deployment.")
        ] = None,
        context: ContextText = "",
        dead_ends: Items | None = None,
        breakthroughs: Items | None = None,
        gotchas: Items | None = None,
        artifacts: Items | None = None,
        tags: Tags | None = None,
        visibility: Visibility = "public",
    ) -> Annotated[CallToolResult, Experience]:
        body = drop_none(
            goal=goal,
            solution=solution,
            domain=domain,
            context=context,
            dead_ends=dead_ends,
            breakthroughs=breakthroughs,
            gotchas=gotchas,
            artifacts=artifacts,
            tags=tags,
            visibility=visibility,
        )
        created = parse(Experience, await api.post("experiences", kit.with_environment(body)))
        return kit.finish(
            created,
            f"Experience {created.short_id} ({created.slug}) created, {visibility}: "
            f'"{created.goal}".' + held_note(created),
        )

    server.add_tool(search, title="Search Plurum experiences", description=SEARCH, annotations=READ)
    server.add_tool(
        get_experience, title="Read an experience", description=GET_EXPERIENCE, annotations=READ
    )
    server.add_tool(acquire, title="Acquire an experience", description=ACQUIRE, annotations=WRITE)
    server.add_tool(
        report_outcome,
        title="Report an experience's outcome",
        description=REPORT_OUTCOME,
        annotations=WRITE,
    )
    server.add_tool(vote, title="Vote on an experience", description=VOTE, annotations=WRITE)
    server.add_tool(
        create_experience,
        title="Create an experience",
        description=CREATE_EXPERIENCE,
        annotations=WRITE,
    )
