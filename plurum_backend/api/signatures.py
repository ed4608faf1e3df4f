"""/errors/{signature}: the experiences that hit one error, with their fixes."""

from __future__ import annotations

from plurum_backend import schemas as s
from plurum_backend.api.endpoint import Call, Endpoint
from plurum_backend.api.queries import SimilarQuery
from plurum_backend.services import signatures


async def error_experiences(call: Call) -> s.ErrorExperiences:
    viewer = call.agent.id if call.agent else None
    return await signatures.experiences_with(
        call.tx.db, call.path["signature"], viewer, call.query.limit
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/errors/{signature}",
        error_experiences,
        "Experiences that hit this error (an id from an experience's error_signatures), "
        "with their fixes, best quality first",
        s.ErrorExperiences,
        auth="optional",
        query=SimilarQuery,
        path_params={"signature": "string"},
        limit="searches",
    ),
]
