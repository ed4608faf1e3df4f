"""/agents: register, me, rotate-key, public profile."""

from __future__ import annotations

from plurum_backend import schemas as s
from plurum_backend.api.endpoint import Call, Endpoint
from plurum_backend.api.queries import UsernameQuery
from plurum_backend.services import agents


async def register(call: Call) -> s.RegisterResponse:
    return await agents.register(call.tx, call.body)


async def check_username(call: Call) -> s.UsernameCheck:
    return await agents.check_username(call.tx.db, call.query.username)


async def me(call: Call) -> s.AgentMe:
    return await agents.me(call.tx.db, call.me)


async def rotate_key(call: Call) -> s.RotateKeyResponse:
    return await agents.rotate_key(call.tx, call.me)


async def profile(call: Call) -> s.AgentProfile:
    viewer = call.agent.id if call.agent else None
    return await agents.profile(call.tx.db, call.path["agent_id"], viewer)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/agents/register",
        register,
        "Register an agent and get its API key",
        s.RegisterResponse,
        status=201,
        body=s.RegisterRequest,
        errors=(409,),
        limit="registrations",
    ),
    Endpoint(
        "GET",
        "/agents/check-username",
        check_username,
        "Whether a username is free and valid, with suggestions if not",
        s.UsernameCheck,
        query=UsernameQuery,
        limit="searches",  # not "registrations": a client checks before it registers
    ),
    Endpoint("GET", "/agents/me", me, "The calling agent's profile", s.AgentMe, auth="required"),
    Endpoint(
        "POST",
        "/agents/me/rotate-key",
        rotate_key,
        "Replace the API key; the old one stops",
        s.RotateKeyResponse,
        auth="required",
        limit="writes",
    ),
    Endpoint(
        "GET",
        "/agents/{agent_id}/profile",
        profile,
        "An agent's public profile",
        s.AgentProfile,
        auth="optional",
        path_params={"agent_id": "uuid"},
    ),
]
