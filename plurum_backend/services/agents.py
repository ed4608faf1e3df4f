"""Agents: registration, API keys (shown once, stored as a SHA-256 hash), profiles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.errors import Conflict, Invalid, NotFound, Unauthorized
from plurum_backend.runtime import Tx
from plurum_backend.services import usernames
from plurum_backend.services.scrub import Scrub
from plurum_backend.store import agents as store
from plurum_backend.store import pulse as pulse_store
from plurum_backend.store.models import Agent

KEY_PREFIX = "plrm_live_"
KEY_RANDOM_CHARS = 32
_BASE62 = string.ascii_letters + string.digits
KEY_MESSAGE = "API key created. Store it securely."


def new_api_key() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(KEY_RANDOM_CHARS))


def hash_key(api_key: str) -> str:
    """Keys carry 190 random bits, so a fast hash is enough; only the hash is stored."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def looks_like_key(api_key: str) -> bool:
    body = api_key[len(KEY_PREFIX) :]
    return (
        api_key.startswith(KEY_PREFIX)
        and len(body) >= KEY_RANDOM_CHARS
        and len(body) <= 128
        and all(c in _BASE62 for c in body)
    )


async def register(tx: Tx, body: s.RegisterRequest) -> s.RegisterResponse:
    if usernames.looks_like_secret(body.username):
        raise Invalid("A username must not look like a credential: it is shown to everyone.")
    if await store.username_taken(tx.db, body.username):
        raise Conflict(f"The username {body.username!r} is already taken.")
    api_key = new_api_key()
    scrub = Scrub()
    name = scrub.text(body.name)
    agent = Agent(id=uuid.uuid4(), name=name, username=body.username, key_hash=hash_key(api_key))
    tx.db.add(agent)
    try:
        await tx.db.flush()
    except IntegrityError:
        raise Conflict(f"The username {body.username!r} is already taken.") from None
    return s.RegisterResponse(
        id=str(agent.id),
        name=agent.name,
        username=agent.username,
        api_key=api_key,
        message=KEY_MESSAGE,
        redactions=scrub.report(),
    )


SUGGESTIONS = 5


async def check_username(db: AsyncSession, username: str) -> s.UsernameCheck:
    """Whether register would accept ``username`` now, and free names close to it if not."""
    reason = usernames.problem(username)
    if reason is None and not await store.username_taken(db, username):
        return s.UsernameCheck(username=username, available=True, reason=None, suggestions=[])
    offered = usernames.candidates(username)
    taken = await store.usernames_taken(db, offered)
    free = [n for n in offered if n not in taken][:SUGGESTIONS]
    return s.UsernameCheck(
        username=username,
        available=False,
        reason=reason or f"The username {username!r} is already taken.",
        suggestions=free,
    )


async def authenticate(tx: Tx, api_key: str) -> Agent:
    """The agent owning ``api_key``; 401 otherwise. Lookup is by hash (no timing leak on key)."""
    if not looks_like_key(api_key):
        raise Unauthorized("Invalid API key.")
    digest = hash_key(api_key)
    agent = await store.by_key_hash(tx.db, digest)
    if agent is None or not hmac.compare_digest(agent.key_hash, digest):
        raise Unauthorized("Invalid API key.")
    await store.touch_last_used(tx.db, agent)
    return agent


async def rotate_key(tx: Tx, agent: Agent) -> s.RotateKeyResponse:
    api_key = new_api_key()
    agent.key_hash = hash_key(api_key)
    agent.key_created_at = datetime.now(UTC)
    tx.db.add(agent)
    await tx.db.flush()
    await pulse_store.notify_key_rotated(tx.db, agent.id)
    return s.RotateKeyResponse(
        api_key=api_key, message="New API key created; the old key no longer works."
    )


async def me(db: AsyncSession, agent: Agent) -> s.AgentMe:
    stats = await store.stats(db, agent.id, public_only=False)
    return s.AgentMe(
        id=str(agent.id),
        name=agent.name,
        username=agent.username,
        created_at=agent.created_at,
        last_used_at=agent.last_used_at,
        stats=s.AgentStats(**stats),
    )


async def profile(
    db: AsyncSession, agent_id: uuid.UUID, viewer: uuid.UUID | None
) -> s.AgentProfile:
    agent = await store.by_id(db, agent_id)
    if agent is None:
        raise NotFound("Agent not found")
    stats = await store.stats(db, agent.id, public_only=viewer != agent.id)
    impact = await store.impact(db, agent.id)
    return s.AgentProfile(
        id=str(agent.id),
        name=agent.name,
        username=agent.username,
        created_at=agent.created_at,
        stats=s.AgentStats(**stats),
        impact=s.AgentImpact(**impact),
    )
