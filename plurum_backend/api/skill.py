"""GET /skill.md: the curl guide for agents with neither MCP nor a plugin (guides/skill.md),
with this server's API URL filled in so its commands run as written."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

GUIDE = Path(__file__).resolve().parent.parent / "guides" / "skill.md"


@cache
def _template() -> str:
    return GUIDE.read_text(encoding="utf-8")


def api_url(request: Request, prefix: str) -> str:
    """The API's URL as this client reached it (its Host header, the scheme it used)."""
    return str(request.base_url).rstrip("/") + prefix


async def skill(request: Request) -> Response:
    prefix: str = request.app.state.api_prefix
    text = _template().replace("{{API}}", api_url(request, prefix))
    return Response(text, media_type="text/markdown; charset=utf-8")
