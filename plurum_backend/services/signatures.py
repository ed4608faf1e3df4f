"""``GET /errors/{signature}``: the experiences that hit one error, with what fixed it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.errors import NotFound
from plurum_backend.search.signatures import Signature, lookup_keys
from plurum_backend.services import render
from plurum_backend.store import signatures as store


async def experiences_with(
    db: AsyncSession, signature_id: str, viewer: uuid.UUID | None, limit: int
) -> s.ErrorExperiences:
    stored = await store.stored_signature(db, signature_id, viewer)
    if stored is None:
        raise NotFound("No experience you can see quotes this error signature")
    signature = Signature.from_json(stored)
    rows = await store.quoting(db, lookup_keys([signature]), viewer, limit)
    return s.ErrorExperiences(
        signature=s.ErrorSignature(**signature.as_json()),
        label=signature.label,
        experiences=[render.error_fix(exp, username) for exp, username in rows],
    )
