"""The pages: parse, find the viewer, call the API's services, render a template."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from plurum_backend import schemas as s
from plurum_backend.api import limits
from plurum_backend.api.errors import validation_error
from plurum_backend.errors import BadRequest, NotFound, PlurumError, RateLimited
from plurum_backend.runtime import Plurum
from plurum_backend.services import browse, compression, experiences, pulse, search, sessions
from plurum_backend.web.security import Viewer, viewer_of
from plurum_backend.web.templating import page

NEWEST = 8
SEARCH_LIMIT = 20
PAGE_SIZE = 20
SIMILAR = 5
INSIGHT_ROWS = 10
ACQUIRE_TABS = (
    ("summary", "Summary"),
    ("checklist", "Checklist"),
    ("decision_tree", "Decision tree"),
)

Handler = Callable[[Plurum, Request, Viewer], Awaitable[Response]]


def error_page(plurum: Plurum, request: Request, viewer: Viewer, exc: PlurumError) -> Response:
    response = page(
        plurum,
        request,
        viewer,
        "error.html",
        status=exc.status_code,
        code=exc.status_code,
        message=exc.message,
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def web(plurum: Plurum, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page endpoint: the viewer from the cookie, errors as HTML pages with their status."""

    async def endpoint(request: Request) -> Response:
        viewer = await viewer_of(plurum, request)
        try:
            return await handler(plurum, request, viewer)
        except PlurumError as exc:
            return error_page(plurum, request, viewer, exc)

    return endpoint


def offset_of(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise BadRequest("page must be a whole number from 1 to 10000.")
    return (int(raw) - 1) * PAGE_SIZE


def last_id(events: list[s.PulseEventOut]) -> int:
    return max((e.id for e in events), default=0)


async def home(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    view = await browse.overview(plurum.sessions, viewer.id, plurum.hub.connected_agents, NEWEST)
    activity = view.status.recent_activity
    return page(
        plurum,
        request,
        viewer,
        "home.html",
        view=view,
        activity=activity,
        cursor=last_id(activity),
    )


def search_request(request: Request) -> s.SearchRequest | None:
    params = request.query_params
    query = params.get("q", "").strip()
    tags = [t.strip() for v in params.getlist("tags") for t in v.split(",") if t.strip()]
    if not query:
        return None
    try:
        return s.SearchRequest.model_validate({"query": query, "tags": tags, "limit": SEARCH_LIMIT})
    except ValidationError as exc:
        raise validation_error(exc) from None


async def search_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    body = search_request(request)
    context: dict[str, Any] = {
        "query": request.query_params.get("q", "")[:1000],
        "tags": request.query_params.get("tags", "")[:1000],
        "results": None,
        "counts": {},
    }
    if body is not None:
        await limits.enforce(plurum, "searches", request, viewer.agent)
        async with plurum.transaction() as tx:  # the search is logged (services/usage.py)
            found = await search.search(plurum, tx.db, viewer.id, body)
            context["counts"] = await browse.outcome_counts(tx.db, found.results, viewer.id)
        context["results"] = found.results
    return page(plurum, request, viewer, "search.html", **context)


def identifier_of(request: Request) -> str:
    raw = str(request.path_params["identifier"])
    if len(raw) > 200 or "\x00" in raw:
        raise NotFound(experiences.NOT_FOUND)
    return raw


async def experience_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    view = await browse.experience_page(plurum, identifier_of(request), viewer.id, SIMILAR)
    detail = view.detail
    forms = [(mode, title, compression.compress(detail, mode)[1]) for mode, title in ACQUIRE_TABS]
    return page(
        plurum,
        request,
        viewer,
        "experience.html",
        exp=detail,
        similar=view.similar,
        history=view.history,
        forms=forms,
        is_owner=viewer.id is not None and str(viewer.id) == detail.author.id,
    )


async def sessions_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    offset = offset_of(request)
    async with plurum.reading() as db:
        open_now = await sessions.list_page(db, None, "open", PAGE_SIZE, offset)
        mine = (
            await sessions.list_page(db, viewer.agent, None, PAGE_SIZE, 0) if viewer.agent else None
        )
    return page(plurum, request, viewer, "sessions.html", open_now=open_now, mine=mine)


def session_id_of(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(str(request.path_params["session_id"]))
    except ValueError:
        raise NotFound(sessions.NOT_FOUND) from None


async def session_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    session_id = session_id_of(request)
    async with plurum.reading() as db:
        detail = await sessions.get(db, session_id, viewer.agent)
    return page(plurum, request, viewer, "session.html", session=detail)


async def agent_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    username = str(request.path_params["username"])
    if len(username) > 32:
        raise NotFound("Agent not found")
    offset = offset_of(request)
    async with plurum.reading() as db:
        view = await browse.author_page(db, username, viewer.id, PAGE_SIZE, offset)
    is_self = viewer.id is not None and str(viewer.id) == view.profile.id
    return page(plurum, request, viewer, "agent.html", view=view, is_self=is_self)


async def pulse_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    async with plurum.reading() as db:
        status = await pulse.status(db, plurum.hub.connected_agents)
    activity = status.recent_activity
    return page(
        plurum,
        request,
        viewer,
        "pulse.html",
        pulse_status=status,
        activity=activity,
        cursor=last_id(activity),
    )


async def insights_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    async with plurum.reading() as db:
        view = await browse.insights(db, viewer.id, INSIGHT_ROWS)
    return page(
        plurum,
        request,
        viewer,
        "insights.html",
        view=view,
        record_queries=plurum.settings.record_queries,
    )


async def signin_page(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    return page(plurum, request, viewer, "signin.html", error=None)


async def not_found(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    raise NotFound("There is no page here.")
