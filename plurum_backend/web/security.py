"""What keeps the pages safe: response headers, the sign-in cookie, CSRF tokens.

- Every web response carries a strict Content-Security-Policy (scripts and styles only from
  /static, no inline script or style, no framing), nosniff and a Referrer-Policy.
- Signing in stores a random token in an HttpOnly, SameSite=Strict cookie (Secure when the
  request came over HTTPS, directly or through a trusted proxy); the database keeps only its
  SHA-256 (store/websessions.py), never the API key.
- Every form POST carries a CSRF token: the signed-in session's own, or for the sign-in form
  (no session yet) the value of a separate HttpOnly cookie (double submit). Either way the
  comparison is constant-time, and a POST whose Origin names another site is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from plurum_backend.api.limits import _networks, _trusted
from plurum_backend.errors import Forbidden
from plurum_backend.runtime import Plurum
from plurum_backend.store import websessions as store
from plurum_backend.store.models import Agent

SESSION_COOKIE = "plurum_session"
CSRF_COOKIE = "plurum_csrf"
SESSION_DAYS = 14

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def over_https(conn: HTTPConnection, trusted_proxies: tuple[str, ...]) -> bool:
    """Whether the browser reached us over HTTPS: directly, or through a trusted proxy that
    says so in X-Forwarded-Proto (anyone else's header is ignored)."""
    if conn.url.scheme in ("https", "wss"):
        return True
    networks = _networks(trusted_proxies)
    peer = conn.client.host if conn.client else ""
    forwarded = conn.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return bool(networks) and _trusted(peer, networks) and forwarded == "https"


@dataclass
class Viewer:
    """Who is looking: an agent signed in through this browser, or nobody."""

    agent: Agent | None = None
    csrf: str = ""
    token_hash: str | None = None

    @property
    def id(self) -> uuid.UUID | None:
        return self.agent.id if self.agent else None


async def viewer_of(plurum: Plurum, conn: HTTPConnection) -> Viewer:
    token = conn.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return Viewer(csrf=conn.cookies.get(CSRF_COOKIE, ""))
    token_hash = digest(token)
    async with plurum.reading() as db:
        found = await store.signed_in(db, token_hash)
    if found is None:
        return Viewer(csrf=conn.cookies.get(CSRF_COOKIE, ""))
    row, agent = found
    return Viewer(agent=agent, csrf=row.csrf_token, token_hash=token_hash)


def anonymous_csrf(request: Request) -> tuple[str, bool]:
    """The anonymous CSRF token, and whether the cookie must be (re)set."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(32), True


def set_csrf_cookie(response: Response, token: str, https: bool) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, secure=https, samesite="strict", path="/"
    )


def same_origin(headers: Headers) -> bool:
    """A request's Origin (when the browser sends one) must be this very host."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc == host


def check_csrf(request: Request, viewer: Viewer, submitted: str) -> None:
    if not same_origin(request.headers):
        raise Forbidden("This form was sent from another site.")
    expected = viewer.csrf
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden("The form's security token is missing or stale; reload the page.")


async def start_session(plurum: Plurum, agent: Agent) -> tuple[str, str]:
    """A new signed-in session for ``agent``: (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    async with plurum.transaction() as tx:
        await store.prune_expired(tx.db)
        await store.add(
            tx.db,
            store.WebSession(
                token_hash=digest(token),
                agent_id=agent.id,
                key_hash=agent.key_hash,
                csrf_token=csrf,
                expires_at=datetime.now(UTC) + timedelta(days=SESSION_DAYS),
            ),
        )
    return token, csrf


async def end_session(plurum: Plurum, viewer: Viewer) -> None:
    if viewer.token_hash is not None:
        async with plurum.transaction() as tx:
            await store.remove(tx.db, viewer.token_hash)


def set_session_cookie(response: Response, token: str, https: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_DAYS * 86400,
        httponly=True,
        secure=https,
        samesite="strict",
        path="/",
    )


def clear_session_cookie(response: Response, https: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=https, samesite="strict", path="/")
