"""/sessions: open, entries, close, abandon, list, detail, contribute, contributions."""

from __future__ import annotations

from plurum_backend import schemas as s
from plurum_backend.api.endpoint import Call, Endpoint
from plurum_backend.api.queries import PageQuery, SessionListQuery
from plurum_backend.services import sessions

SESSION = {"session_id": "uuid"}


async def open_session(call: Call) -> s.SessionOpenResponse:
    return await sessions.open_session(call.plurum, call.tx, call.me, call.body)


async def log_entry(call: Call) -> s.EntryCreated:
    return await sessions.log_entry(call.tx, call.path["session_id"], call.me, call.body)


async def close(call: Call) -> s.SessionCloseResponse:
    return await sessions.close(call.plurum, call.tx, call.path["session_id"], call.me, call.body)


async def update(call: Call) -> s.SessionDetail:
    return await sessions.update(call.plurum, call.tx, call.path["session_id"], call.me, call.body)


async def abandon(call: Call) -> s.SessionAbandonResponse:
    return await sessions.abandon(call.tx, call.path["session_id"], call.me)


async def list_sessions(call: Call) -> s.SessionList:
    q = call.query
    return await sessions.list_page(call.tx.db, call.agent, q.status, q.limit, q.offset)


async def detail(call: Call) -> s.SessionDetail:
    return await sessions.get(call.tx.db, call.path["session_id"], call.agent)


async def contribute(call: Call) -> s.ContributionCreated:
    return await sessions.contribute(call.tx, call.path["session_id"], call.me, call.body)


async def contributions(call: Call) -> s.ContributionList:
    q = call.query
    return await sessions.contributions_page(
        call.tx.db, call.path["session_id"], call.me, q.limit, q.offset
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        "/sessions",
        open_session,
        "Open a working session",
        s.SessionOpenResponse,
        status=201,
        auth="required",
        body=s.SessionOpenRequest,
        limit="writes",
    ),
    Endpoint(
        "GET",
        "/sessions",
        list_sessions,
        "Your sessions (with a key) or public ones",
        s.SessionList,
        auth="optional",
        query=SessionListQuery,
    ),
    Endpoint(
        "GET",
        "/sessions/{session_id}",
        detail,
        "A session; entries for its owner only",
        s.SessionDetail,
        auth="optional",
        path_params=SESSION,
    ),
    Endpoint(
        "PATCH",
        "/sessions/{session_id}",
        update,
        "Change your open session's domain, tools_used or visibility",
        s.SessionDetail,
        auth="required",
        body=s.SessionUpdateRequest,
        errors=(403, 409),
        path_params=SESSION,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/sessions/{session_id}/entries",
        log_entry,
        "Log an entry to your session",
        s.EntryCreated,
        status=201,
        auth="required",
        body=s.EntryRequest,
        errors=(403, 409),
        path_params=SESSION,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/sessions/{session_id}/close",
        close,
        "Close a session into an experience",
        s.SessionCloseResponse,
        auth="required",
        body=s.SessionCloseRequest,
        body_optional=True,
        errors=(403, 409),
        path_params=SESSION,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/sessions/{session_id}/abandon",
        abandon,
        "Abandon a session",
        s.SessionAbandonResponse,
        auth="required",
        errors=(403, 409),
        path_params=SESSION,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/sessions/{session_id}/contribute",
        contribute,
        "Contribute reasoning to another agent's open public session",
        s.ContributionCreated,
        status=201,
        auth="required",
        body=s.ContributionRequest,
        errors=(400, 409),
        path_params=SESSION,
        limit="writes",
    ),
    Endpoint(
        "GET",
        "/sessions/{session_id}/contributions",
        contributions,
        "Contributions to your session",
        s.ContributionList,
        auth="required",
        query=PageQuery,
        errors=(403,),
        path_params=SESSION,
    ),
]
