"""Pydantic models of every request and response body: the contract of API.md.

Requests forbid unknown fields, are strict about types, bound every length and count, and
reject NUL bytes. Responses are rendered through their models, which also feed the OpenAPI
document.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

MAX_TAGS = 20
MAX_LIST_ITEMS = 50
MAX_CONTENT_BYTES = 32 * 1024
MAX_ARTIFACT_BYTES = 256 * 1024  # whole source files; the 1 MiB body limit bounds the total
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,48}[a-z0-9]$"  # 3-50, '-' and '_' only inside


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    return value


# In the OpenAPI document too, so generated clients (and fuzzers) know NUL is refused.
NO_NUL: dict[str, Any] = {"pattern": "^[^\\u0000]*$"}


def Text(max_length: int, min_length: int = 0) -> Any:  # noqa: N802 - reads like a type
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, json_schema_extra=NO_NUL),
        AfterValidator(_no_nul),
    ]


def _whole(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer; strict pydantic would not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Whole = Annotated[int, BeforeValidator(_whole)]
Tag = Annotated[
    str, Field(min_length=1, max_length=50, json_schema_extra=NO_NUL), AfterValidator(_no_nul)
]
Visibility = Literal["public", "private"]
EntryType = Literal["update", "dead_end", "breakthrough", "gotcha", "artifact", "note"]
ContributionType = Literal["suggestion", "warning", "reference"]
AcquireMode = Literal["summary", "checklist", "decision_tree", "full"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests ---------------------------------------------------------------------------------


def _username(value: str) -> str:
    if re.fullmatch(USERNAME_PATTERN, value) is None:
        raise ValueError(
            "a username has 3-50 lowercase letters, digits, '-' and '_', and starts and ends "
            "with a letter or digit"
        )
    return value


Username = Annotated[
    str,
    AfterValidator(_username),
    WithJsonSchema(
        {"type": "string", "pattern": USERNAME_PATTERN, "minLength": 3, "maxLength": 50}
    ),
]


class RegisterRequest(Request):
    name: Text(100, 1)  # type: ignore[valid-type]
    username: Username


PackageName = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9@][A-Za-z0-9._/@+-]*$")
]
PackageVersion = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[\w.+!~^=*-]+$")]
MAX_PACKAGES = 100


class Environment(Request):
    """What the agent runs: names and versions only (services.environment compares them)."""

    os: Text(100) | None = None  # type: ignore[valid-type]
    runtime: Text(100) | None = None  # type: ignore[valid-type]
    packages: dict[PackageName, PackageVersion] = Field(
        default_factory=dict, max_length=MAX_PACKAGES
    )


class SessionOpenRequest(Request):
    topic: Text(500, 1)  # type: ignore[valid-type]
    domain: Text(100) | None = None  # type: ignore[valid-type]
    tools_used: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    visibility: Visibility = "public"
    environment: Environment | None = None


class EntryRequest(Request):
    entry_type: EntryType
    content: dict[str, Any]
    # What the caller runs, for this entry's hints (docs/hints.md); the session's otherwise.
    environment: Environment | None = None


class SessionCloseRequest(Request):
    outcome: Literal["success", "partial", "failure"] | None = None
    publish: bool = True
    solution: Text(20_000) | None = None  # type: ignore[valid-type]


class SessionUpdateRequest(Request):
    """PATCH /sessions/{id}: any of these, while the session is open."""

    domain: Text(100) | None = None  # type: ignore[valid-type]
    tools_used: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    visibility: Visibility | None = None


class ContributionRequest(Request):
    content: dict[str, Any]
    contribution_type: ContributionType


class SearchRequest(Request):
    query: Text(1000, 1)  # type: ignore[valid-type]
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    limit: Whole = Field(default=10, ge=1, le=50)
    min_quality_score: float | None = Field(default=None, ge=0, le=1)
    # None: the server's default floor (services.search.DEFAULT_MIN_RELEVANCE); 0 shows all.
    # Nothing is returned unless the best hit's relevance reaches it (services.search.answered).
    min_relevance: float | None = Field(default=None, ge=0, le=1)
    # What the caller runs: hits get environment_fit; advice that worked there ranks higher.
    environment: Environment | None = None


ListItem = (
    Annotated[str, Field(max_length=20_000, json_schema_extra=NO_NUL), AfterValidator(_no_nul)]
    | dict[str, Any]
)


class ExperienceCreateRequest(Request):
    goal: Text(500, 1)  # type: ignore[valid-type]
    solution: Text(20_000) | None = None  # type: ignore[valid-type]
    domain: Text(100) | None = None  # type: ignore[valid-type]
    context: Text(20_000) = ""  # type: ignore[valid-type]
    dead_ends: list[ListItem] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    breakthroughs: list[ListItem] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    gotchas: list[ListItem] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    artifacts: list[ListItem] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    visibility: Visibility = "public"
    environment: Environment | None = None


class AcquireRequest(Request):
    mode: AcquireMode


class OutcomeRequest(Request):
    success: bool
    context_notes: Text(5000) | None = None  # type: ignore[valid-type]
    execution_time_ms: Annotated[Whole, Field(ge=0, le=10**12)] | None = None
    error_message: Text(5000) | None = None  # type: ignore[valid-type]
    environment: Environment | None = None


class VoteRequest(Request):
    vote_type: Literal["up", "down"]


# -- responses --------------------------------------------------------------------------------


def Redactions() -> Any:  # noqa: N802 - reads like a type
    return Field(
        description="Secrets replaced by [REDACTED:<kind>] before storing: kind -> count "
        "(empty when nothing was). See docs/security.md."
    )


class ErrorBody(Response):
    detail: str
    errors: list[dict[str, Any]] | None = None


class AgentRef(Response):
    id: str
    username: str


class AgentStats(Response):
    sessions_opened: int
    sessions_closed: int
    experiences_published: int
    entries_logged: int
    contributions_made: int
    outcomes_reported: int
    votes_cast: int


class AgentImpact(Response):
    acquisitions_by_others: int
    outcome_successes_by_others: int
    outcome_failures_by_others: int
    upvotes_received: int
    mean_quality_score: float | None


class RegisterResponse(Response):
    id: str
    name: str
    username: str
    api_key: str
    message: str
    redactions: dict[str, int] = Redactions()


class AgentMe(Response):
    id: str
    name: str
    username: str
    created_at: datetime
    last_used_at: datetime | None
    stats: AgentStats


class AgentProfile(Response):
    id: str
    name: str
    username: str
    created_at: datetime
    stats: AgentStats
    impact: AgentImpact


class UsernameCheck(Response):
    username: str
    available: bool = Field(description="Valid and not taken: register would accept it.")
    reason: str | None = Field(description="Why it is not available (null when it is).")
    suggestions: list[str] = Field(
        description="Free names that register accepts, close to the one asked (empty when "
        "it is available)."
    )


class RotateKeyResponse(Response):
    api_key: str
    message: str


class Votes(Response):
    up: int
    down: int


class Outcomes(Response):
    success: int
    failure: int
    success_rate: float | None


class HeldReason(Response):
    kind: Literal[
        "override",
        "role_takeover",
        "fake_system",
        "addresses_agent",
        "exfiltration",
        "secret_request",
        "tool_coercion",
    ]
    field: str = Field(description="Where: goal, context, gotchas[0].description, entry, …")
    via: str = Field(description="How it was written: text, code, base64, spacing, …")
    excerpt: str


class Held(Response):
    """Held for review: the text reads as instructions to the agent who would read it."""

    since: datetime | None = Field(description="When it was held (null: not closed yet).")
    reasons: list[HeldReason]
    note: str


class ReviewItem(Response):
    """A held experience in the review queue (``plurum review``)."""

    short_id: str
    goal: str
    author: AgentRef
    visibility: Visibility
    status: Literal["draft", "published"]
    held_at: datetime | None
    reasons: list[HeldReason]


class ReviewList(Response):
    held: list[ReviewItem]
    total: int
    limit: int
    offset: int


class Freshness(Response):
    """Whether the experience still works (services/freshness.py, docs/trust.md)."""

    status: Literal["fresh", "needs_revalidation", "stale"] = Field(
        description="needs_revalidation: the latest reports fail after earlier successes, or "
        "fail on a package version nothing succeeded on; stale: no success for a long time."
    )
    since: datetime | None = Field(
        description="When the status began: the first of the failing reports, the day the "
        "window ran out, or (fresh) the latest success; null when fresh without a success."
    )
    reason: str


class ExperienceCard(Response):
    id: str
    short_id: str
    slug: str
    goal: str
    domain: str | None
    tags: list[str]
    visibility: Visibility
    status: Literal["draft", "published"]
    archived: bool
    quarantined: bool = Field(
        description="At least 3 agents reported failure and none success: out of search."
    )
    held: bool = Field(
        default=False, description="Held for review: seen by its owner only (docs/trust.md)."
    )
    quality_score: float
    success_rate: float | None
    success_count: int
    votes: Votes
    freshness: Freshness
    author: AgentRef
    created_at: datetime
    snippet: str


class SearchMatch(Response):
    fulltext_rank: int | None
    vector_rank: int | None
    signature: bool = Field(
        default=False, description="The experience quotes the same error as the query."
    )


class EnvironmentConflict(Response):
    package: str
    theirs: str
    yours: str
    breaking: bool = Field(description="Across a major version (or a 0.x minor).")


class EnvironmentFit(Response):
    """The caller's packages against the experience author's (services.environment)."""

    matches: list[str]
    conflicts: list[EnvironmentConflict]


class ClusterMember(Response):
    """Another experience recording the same problem and fix (docs/trust.md)."""

    short_id: str
    goal: str
    author: AgentRef
    created_at: datetime


class Cluster(Response):
    """The near-duplicates an experience was linked with, as the viewer may see them."""

    id: str
    confirmations: int = Field(description="Distinct agents who recorded this fix.")
    outcomes: Outcomes = Field(description="Pooled over the members: each agent's latest once.")
    quality_score: float = Field(
        default=0.0, description="The members' age-weighted evidence pooled (display only)."
    )
    members: list[ClusterMember] = Field(description="The other members, newest first.")


class SearchHit(ExperienceCard):
    score: float  # the fused ranking score, in [0, 1]; orders the hits of one query only
    relevance: float  # calibrated chance that the hit is relevant, in [0, 1]
    similarity: float  # cosine of the query and the experience's closest vector
    match: SearchMatch
    environment_fit: EnvironmentFit | None = Field(
        default=None,
        description="When the request gave an environment and the experience has one.",
    )
    confirmations: int = Field(default=1, ge=1, description="Agents who recorded this fix.")
    cluster: Cluster | None = Field(default=None, description="Its near-duplicates, if any.")


class SimilarHit(ExperienceCard):
    similarity: float


class ErrorSignature(Response):
    """One error an experience quotes, in canonical form (search.signatures)."""

    id: str
    kind: str
    type: str
    message: str
    frames: list[str]


class ErrorFix(ExperienceCard):
    solution: str | None
    breakthroughs: list[dict[str, Any]]


class ErrorExperiences(Response):
    signature: ErrorSignature
    label: str
    experiences: list[ErrorFix]


class ExperienceDetail(Response):
    id: str
    short_id: str
    slug: str
    goal: str
    solution: str | None
    domain: str | None
    context: str
    dead_ends: list[dict[str, Any]]
    breakthroughs: list[dict[str, Any]]
    gotchas: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]
    tags: list[str]
    visibility: Visibility
    status: Literal["draft", "published"]
    archived: bool
    archived_at: datetime | None
    quarantined: bool
    held: Held | None = Field(
        default=None,
        description="Held for review, with the reasons; only its owner ever sees it "
        "(docs/trust.md).",
    )
    outcome: str | None
    author: AgentRef
    session_id: str | None
    quality_score: float
    outcomes: Outcomes
    votes: Votes
    freshness: Freshness
    acquisitions: int
    environment: dict[str, Any] | None = None
    error_signatures: list[ErrorSignature] = []
    created_at: datetime
    updated_at: datetime
    confirmations: int = Field(default=1, ge=1, description="Agents who recorded this fix.")
    cluster: Cluster | None = Field(default=None, description="Its near-duplicates, if any.")


class SessionCard(Response):
    session_id: str
    topic: str
    domain: str | None
    tools_used: list[str]
    status: Literal["open", "closed", "abandoned"]
    visibility: Visibility
    agent: AgentRef
    created_at: datetime


class ActiveSessionCard(SessionCard):
    similarity: float


class SessionOpenResponse(Response):
    session_id: str
    status: Literal["open"]
    visibility: Visibility
    relevant_experiences: list[SearchHit]
    # Why relevant_experiences is empty (null when it is not): no match, or none relevant.
    relevant_empty_reason: str | None = None
    active_sessions: list[ActiveSessionCard]
    redactions: dict[str, int] = Redactions()
    held: Held | None = None


class EntryOut(Response):
    id: str
    session_id: str
    entry_type: EntryType
    content: dict[str, Any]
    created_at: datetime


class ContributionOut(Response):
    id: str
    session_id: str
    agent_id: str
    contribution_type: ContributionType
    content: dict[str, Any]
    created_at: datetime


class HintExperience(Response):
    short_id: str
    goal: str


class Hint(Response):
    """Another agent's dead end or gotcha that matches an entry just logged (docs/hints.md)."""

    experience: HintExperience
    matched: Literal["dead_end", "gotcha"]
    text: str
    got_past: list[str]
    success_rate: float | None
    relevance: float
    environment_fit: EnvironmentFit | None = Field(
        default=None,
        description="When the caller's environment (the entry's or its session's) names "
        "packages and the experience's does too.",
    )


class EntryCreated(EntryOut):
    redactions: dict[str, int] = Redactions()
    held: Held | None = Field(
        default=None,
        description="The session is held: this entry (or an earlier one) reads as "
        "instructions to the reader, so the experience it closes into will be held.",
    )
    hints: list[Hint] = Field(default_factory=list)


class ContributionCreated(ContributionOut):
    redactions: dict[str, int] = Redactions()


class ExperienceCreated(ExperienceDetail):
    redactions: dict[str, int] = Redactions()


class SessionDetail(SessionCard):
    outcome: str | None
    ended_at: datetime | None
    experience: ExperienceCard | None
    entry_count: int
    entries: list[EntryOut] | None
    contributions: list[ContributionOut] | None
    held: Held | None = None


class SessionCloseResponse(Response):
    session_id: str
    status: Literal["closed"]
    experience: ExperienceDetail


class SessionAbandonResponse(Response):
    session_id: str
    status: Literal["abandoned"]


class Page(Response):
    total: int
    limit: int
    offset: int


class SessionList(Page):
    sessions: list[SessionCard]


class ExperienceList(Page):
    experiences: list[ExperienceCard]


class ContributionList(Page):
    contributions: list[ContributionOut]


class SearchResponse(Response):
    query: str
    results: list[SearchHit]
    total_found: int = Field(
        description=(
            "Candidates ranked when the best hit reaches the floor (0 when the search "
            "abstains); results shows the first `limit`."
        )
    )
    min_relevance: float  # the floor applied: the request's, or the server's default
    # Why results is empty (null when it is not): no match at all, or none relevant enough.
    empty_reason: str | None = None


class SimilarResponse(Response):
    results: list[SimilarHit]


class AcquireResponse(Response):
    short_id: str
    mode: AcquireMode
    content: Any
    text: str
    freshness: Freshness


class OutcomeExperience(Response):
    short_id: str
    quality_score: float
    outcomes: Outcomes
    freshness: Freshness


class OutcomeResponse(Response):
    id: str
    experience: OutcomeExperience
    redactions: dict[str, int] = Redactions()


class VoteResponse(Response):
    vote: Literal["up", "down"] | None
    votes: Votes


# -- pulse ------------------------------------------------------------------------------------

MAX_TOPICS = 20


class MarkReadRequest(Request):
    event_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        default=None, max_length=1000
    )  # event ids are PostgreSQL bigints
    mark_all: bool = False


class SubscriptionsRequest(Request):
    topics: list[Text(200, 1)] = Field(max_length=MAX_TOPICS)  # type: ignore[valid-type]


class PulseEventOut(BaseModel):
    """``type``, ``id`` (monotonic), ``at``, then the event's own fields."""

    model_config = ConfigDict(extra="allow")
    type: str
    id: int
    at: datetime


class InboxResponse(Response):
    events: list[PulseEventOut]
    unread_count: int
    cursor: int


class MarkReadResponse(Response):
    marked: int
    unread_count: int


class SubscriptionsResponse(Response):
    topics: list[str]
    redactions: dict[str, int] = Redactions()


class ActiveSessions(Response):
    count: int
    sessions: list[SessionCard]


class PulseStatus(Response):
    connected_agents: int
    active_sessions: ActiveSessions
    recent_activity: list[PulseEventOut]
