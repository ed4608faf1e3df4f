"""/experiences: search, create, list, detail, similar, publish, archive, acquire, outcome,
vote."""

from __future__ import annotations

from plurum_backend import schemas as s
from plurum_backend.api.endpoint import Call, Endpoint
from plurum_backend.api.queries import ExperienceListQuery, SimilarQuery
from plurum_backend.services import experiences, search

EXPERIENCE = {"identifier": "string"}


async def search_experiences(call: Call) -> s.SearchResponse:
    viewer = call.agent.id if call.agent else None
    return await search.search(call.plurum, call.tx.db, viewer, call.body)


async def create(call: Call) -> s.ExperienceCreated:
    return await experiences.create(call.plurum, call.tx, call.me, call.body)


async def list_experiences(call: Call) -> s.ExperienceList:
    q = call.query
    viewer = call.agent.id if call.agent else None
    return await experiences.list_page(
        call.tx.db, viewer, q.tags, q.limit, q.offset, include_archived=q.include_archived
    )


async def detail(call: Call) -> s.ExperienceDetail:
    viewer = call.agent.id if call.agent else None
    return await experiences.get(call.tx.db, call.path["identifier"], viewer)


async def similar(call: Call) -> s.SimilarResponse:
    viewer = call.agent.id if call.agent else None
    return await experiences.similar(
        call.plurum, call.tx.db, call.path["identifier"], viewer, call.query.limit
    )


async def publish(call: Call) -> s.ExperienceDetail:
    return await experiences.publish(call.tx, call.path["identifier"], call.me)


async def archive(call: Call) -> s.ExperienceDetail:
    return await experiences.set_archived(call.tx, call.path["identifier"], call.me, True)


async def unarchive(call: Call) -> s.ExperienceDetail:
    return await experiences.set_archived(call.tx, call.path["identifier"], call.me, False)


async def acquire(call: Call) -> s.AcquireResponse:
    return await experiences.acquire(call.tx, call.path["identifier"], call.me, call.body.mode)


async def outcome(call: Call) -> s.OutcomeResponse:
    return await experiences.report_outcome(
        call.tx,
        call.path["identifier"],
        call.me,
        call.body,
        half_life_days=call.plurum.settings.outcome_half_life_days,
    )


async def vote(call: Call) -> s.VoteResponse:
    return await experiences.vote(
        call.tx,
        call.path["identifier"],
        call.me,
        call.body.vote_type,
        half_life_days=call.plurum.settings.outcome_half_life_days,
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        "/experiences/search",
        search_experiences,
        "Hybrid search: BM25 over its query ceiling + cosine of the whole text blended "
        "with its closest item vector (BM25 share 0.2-0.5 by its evidence; pasted errors "
        "min-max, BM25 0.6); empty when the best hit's relevance is below min_relevance",
        s.SearchResponse,
        auth="optional",
        body=s.SearchRequest,
        limit="searches",
    ),
    Endpoint(
        "POST",
        "/experiences",
        create,
        "Create an experience without a session",
        s.ExperienceCreated,
        status=201,
        auth="required",
        body=s.ExperienceCreateRequest,
        limit="writes",
    ),
    Endpoint(
        "GET",
        "/experiences",
        list_experiences,
        "List experiences, newest first",
        s.ExperienceList,
        auth="optional",
        query=ExperienceListQuery,
    ),
    Endpoint(
        "GET",
        "/experiences/{identifier}",
        detail,
        "An experience by short_id or slug",
        s.ExperienceDetail,
        auth="optional",
        path_params=EXPERIENCE,
    ),
    Endpoint(
        "GET",
        "/experiences/{identifier}/similar",
        similar,
        "Nearest experiences by vector",
        s.SimilarResponse,
        auth="optional",
        query=SimilarQuery,
        path_params=EXPERIENCE,
        limit="searches",
    ),
    Endpoint(
        "POST",
        "/experiences/{identifier}/publish",
        publish,
        "Publish your draft (again is a no-op)",
        s.ExperienceDetail,
        auth="required",
        errors=(403,),
        path_params=EXPERIENCE,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/experiences/{identifier}/archive",
        archive,
        "Archive your experience: out of search and lists, 404 to others (again is a no-op)",
        s.ExperienceDetail,
        auth="required",
        errors=(403,),
        path_params=EXPERIENCE,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/experiences/{identifier}/unarchive",
        unarchive,
        "Bring your archived experience back (again is a no-op)",
        s.ExperienceDetail,
        auth="required",
        errors=(403,),
        path_params=EXPERIENCE,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/experiences/{identifier}/acquire",
        acquire,
        "An experience compressed for your context",
        s.AcquireResponse,
        auth="required",
        body=s.AcquireRequest,
        path_params=EXPERIENCE,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/experiences/{identifier}/outcome",
        outcome,
        "Report whether an experience worked",
        s.OutcomeResponse,
        status=201,
        auth="required",
        body=s.OutcomeRequest,
        path_params=EXPERIENCE,
        limit="writes",
    ),
    Endpoint(
        "POST",
        "/experiences/{identifier}/vote",
        vote,
        "Vote up or down (again to undo)",
        s.VoteResponse,
        auth="required",
        body=s.VoteRequest,
        errors=(403,),
        path_params=EXPERIENCE,
        limit="writes",
    ),
]
