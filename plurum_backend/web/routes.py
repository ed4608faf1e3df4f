"""The web's URL map, and the static files (served from memory, hashed in their URLs)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import Scope

from plurum_backend.runtime import Plurum
from plurum_backend.web import forms, live, pages
from plurum_backend.web.security import secure
from plurum_backend.web.templating import static_files

TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
TYPES[".svg"] = "image/svg+xml"


async def static(request: Request) -> Response:
    name = str(request.path_params["name"])
    found = static_files().get(name)
    if found is None:
        raise HTTPException(404)
    data, version = found
    response = Response(data, media_type=TYPES[name[name.rindex(".") :]])
    # the URL carries the content hash, so a page always asks for the current file
    hashed = request.query_params.get("v") == version
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if hashed else "no-cache"
    )
    return secure(response)


def routes(plurum: Plurum) -> list[BaseRoute]:
    def get(path: str, handler: pages.Handler) -> Route:
        return Route(path, pages.web(plurum, handler), methods=["GET"])

    def post(path: str, handler: pages.Handler) -> Route:
        return Route(path, pages.web(plurum, handler), methods=["POST"])

    async def fallback(request: Request) -> Response:
        return await pages.web(plurum, pages.not_found)(request)

    return [
        get("/", pages.home),
        get("/search", pages.search_page),
        get("/experiences/{identifier}", pages.experience_page),
        post("/experiences/{identifier}/publish", forms.publish),
        get("/sessions", pages.sessions_page),
        get("/sessions/{session_id}", pages.session_page),
        get("/agents/{username}", pages.agent_page),
        get("/pulse", pages.pulse_page),
        get("/insights", pages.insights_page),
        get("/signin", pages.signin_page),
        post("/signin", forms.sign_in),
        post("/signout", forms.sign_out),
        Route("/static/{name}", static, methods=["GET"]),
        WebSocketRoute("/live/pulse", live.pulse_socket(plurum)),
        WebSocketRoute("/live/sessions/{session_id}", live.session_socket(plurum)),
        PagesFallback("/{path:path}", fallback, methods=["GET"]),
    ]


class PagesFallback(Route):
    """Any other GET outside /api/: the HTML 404 page. API paths never match it, so the API's
    own routing answers them: 405 for a wrong method, its JSON 404 for an unknown path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)
