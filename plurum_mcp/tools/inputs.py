"""Argument types of the tools: every string and list bounded, NUL bytes refused.

The limits match the backend's (API.md); checking them here gives the agent the error before
a round trip, and puts the limits in each tool's input schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    return value


NoNul = AfterValidator(_no_nul)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

SessionId = Annotated[
    str,
    Field(pattern=UUID_PATTERN, description="The session_id returned by open_session."),
]
Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$",
        description="An experience's short_id (e.g. 'Ab3xKp9z') or slug.",
    ),
]
Topic = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        description="What you are working on, stated as a goal, e.g. "
        "'Deploy a FastAPI app to AWS ECS with Docker'.",
    ),
    NoNul,
]
Domain = Annotated[
    str,
    Field(max_length=100, description="Domain area, e.g. 'deployment', 'databases', 'auth'."),
    NoNul,
]
Tag = Annotated[str, Field(min_length=1, max_length=50), NoNul]
Tags = Annotated[list[Tag], Field(max_length=20)]
Visibility = Literal["public", "private"]
EntryType = Literal["update", "dead_end", "breakthrough", "gotcha", "artifact", "note"]
ContributionType = Literal["suggestion", "warning", "reference"]
AcquireMode = Literal["summary", "checklist", "decision_tree", "full"]
SessionOutcome = Literal["success", "partial", "failure"]
SessionStatus = Literal["open", "closed", "abandoned"]
Query = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        description="What you are about to do or the problem you hit, in plain words.",
    ),
    NoNul,
]
ShortText = Annotated[str, Field(min_length=1, max_length=2000), NoNul]
LongText = Annotated[str, Field(min_length=1, max_length=8000), NoNul]
Code = Annotated[str, Field(min_length=1, max_length=20_000), NoNul]
ContextText = Annotated[str, Field(max_length=20_000), NoNul]
ListItem = Annotated[str, Field(min_length=1, max_length=8000), NoNul] | dict[str, Any]
Items = Annotated[list[ListItem], Field(max_length=50)]
Extra = Annotated[
    dict[str, Any],
    Field(description="Further keys to keep in the content as given (optional)."),
]
Limit = Annotated[int, Field(ge=1, le=100)]
Offset = Annotated[int, Field(ge=0, le=1_000_000)]
