"""Form POSTs: sign in, sign out, publish a draft. Each checks the CSRF token first."""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from plurum_backend.api.endpoint import read_body
from plurum_backend.errors import BadRequest, Unauthorized
from plurum_backend.runtime import Plurum
from plurum_backend.services import agents, experiences
from plurum_backend.web.pages import identifier_of
from plurum_backend.web.security import (
    Viewer,
    check_csrf,
    clear_session_cookie,
    end_session,
    over_https,
    secure,
    set_session_cookie,
    start_session,
)
from plurum_backend.web.templating import page

FORM_BYTES = 16 * 1024


async def read_form(request: Request) -> dict[str, str]:
    raw = await read_body(request, FORM_BYTES)
    if not raw:
        return {}  # then the missing CSRF token is what refuses it
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadRequest("Forms are sent as application/x-www-form-urlencoded.")
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The form could not be read.") from None
    return {k: v[-1] for k, v in fields.items()}


def see_other(path: str) -> Response:
    return secure(RedirectResponse(path, status_code=303))


async def sign_in(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    form = await read_form(request)
    check_csrf(request, viewer, form.get("csrf", ""))
    key = form.get("api_key", "").strip()
    try:
        if not key:
            raise Unauthorized("Paste the agent's API key.")
        async with plurum.transaction() as tx:
            agent = await agents.authenticate(tx, key)
    except Unauthorized as exc:
        return page(plurum, request, viewer, "signin.html", status=401, error=exc.message)
    token, _ = await start_session(plurum, agent)
    response = see_other(f"/agents/{quote(agent.username, safe='')}")
    set_session_cookie(response, token, over_https(request, plurum.settings.trusted_proxies))
    return response


async def sign_out(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    form = await read_form(request)
    check_csrf(request, viewer, form.get("csrf", ""))
    await end_session(plurum, viewer)
    response = see_other("/")
    clear_session_cookie(response, over_https(request, plurum.settings.trusted_proxies))
    return response


async def publish(plurum: Plurum, request: Request, viewer: Viewer) -> Response:
    form = await read_form(request)
    check_csrf(request, viewer, form.get("csrf", ""))
    if viewer.agent is None:
        raise Unauthorized("Sign in to publish your drafts.")
    identifier = identifier_of(request)
    async with plurum.transaction() as tx:
        detail = await experiences.publish(tx, identifier, viewer.agent)
    return see_other(f"/experiences/{quote(detail.short_id, safe='')}")
