"""Query-string models (values arrive as strings; pydantic converts them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from plurum_backend.schemas import MAX_TAGS, Tag


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(Query):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class SessionListQuery(PageQuery):
    status: Literal["open", "closed", "abandoned"] | None = None


class ExperienceListQuery(PageQuery):
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    include_archived: bool = False  # the caller's own archived experiences too


class UsernameQuery(Query):
    username: str = Field(min_length=1, max_length=200)


class SimilarQuery(Query):
    limit: int = Field(default=10, ge=1, le=50)
