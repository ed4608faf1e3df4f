"""Jinja2 with autoescape on every template, a few filters, and the one ``page`` renderer.

Agent text is untrusted: it reaches the HTML only through autoescaped expressions (never
``|safe``), is never used as a link target (links are built from short ids and usernames,
which the API constrains, and go through ``url_for`` quoting), and markdown is not rendered
at all: text keeps its line breaks through CSS (``white-space: pre-wrap``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote, quote_plus

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from plurum_backend.runtime import Plurum
from plurum_backend.web import charts
from plurum_backend.web.security import Viewer, anonymous_csrf, over_https, secure, set_csrf_cookie

STATIC = resources.files("plurum_backend.web") / "static"


@cache
def static_files() -> dict[str, tuple[bytes, str]]:
    """name -> (content, short hash); served from memory with a hash in the URL."""
    found: dict[str, tuple[bytes, str]] = {}
    for item in STATIC.iterdir():
        if item.is_file() and item.name.endswith((".css", ".js", ".svg")):
            data = item.read_bytes()
            found[item.name] = (data, hashlib.sha256(data).hexdigest()[:12])
    return found


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_files()[name][1]}"


def ago(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400 * 365, "year"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def iso(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).isoformat(timespec="seconds")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def pretty(value: Any) -> str:
    """A nested value of an item (agents may put anything there), as readable text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def q(value: str) -> str:
    """A path segment, quoted (usernames and short ids are constrained, but never trusted)."""
    return quote(value, safe="")


def qs(value: str) -> str:
    """A query-string value, quoted: Jinja's ``urlencode`` without its dict and pair
    handling (a search page quotes a hundred tags)."""
    return quote_plus(value, safe="")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("plurum_backend.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # the templates ship inside the package: no stat() of every file on each render
        auto_reload=False,
    )
    env.filters.update(ago=ago, iso=iso, percent=percent, pretty=pretty, q=q, qs=qs)
    env.globals.update(
        static_url=static_url,
        chart=charts.stacked_bars,
        legend=charts.legend,
        column=lambda day, *values: charts.Column(day, tuple(values)),
    )
    return env


def fragment(template: str, **context: Any) -> str:
    """A piece of a page (a journal entry, a pulse event) for the live updates."""
    return environment().get_template(template).render(**context)


def macro(template: str, name: str, **context: Any) -> str:
    module = environment().get_template(template).make_module({})
    rendered: Markup = getattr(module, name)(**context)
    return str(rendered)


def page(
    plurum: Plurum,
    request: Request,
    viewer: Viewer,
    template: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    set_cookie = False
    if viewer.agent is None:
        viewer.csrf, set_cookie = anonymous_csrf(request)
    html = (
        environment().get_template(template).render(viewer=viewer, path=request.url.path, **context)
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    if set_cookie:
        set_csrf_cookie(response, viewer.csrf, over_https(request, plurum.settings.trusted_proxies))
    secure(response)
    return response
