"""The MCP server's HTTP client to the Plurum REST API (``/api/v1``).

Everything goes over HTTP, so the MCP server works the same against a local ``plurum serve``,
a remote deployment, or (in tests) the real backend app mounted through
``httpx.ASGITransport``. Every failure is raised as a ``BackendError`` whose message is one
sentence an agent can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import httpx

from plurum_mcp.errors import BackendRefusedError, BackendUnavailableError, MissingApiKeyError

log = logging.getLogger(__name__)

Auth = Literal["required", "optional", "none"]
QueryValue = str | int | float | bool | None | list[str]
QueryPairs = list[tuple[str, str | int | float | bool | None]]
Launcher = Callable[[], Awaitable[None]]
"""Makes the backend answer (starts a local one) or raises ``BackendUnavailableError``."""

USER_AGENT = "plurum-mcp/0.1"


class PlurumAPI:
    def __init__(
        self,
        api_url: str,
        api_key: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        launcher: Launcher | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._launcher = launcher
        self._http = httpx.AsyncClient(
            base_url=self.api_url + "/",
            transport=transport,
            timeout=timeout_s,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(
        self, path: str, *, auth: Auth = "required", params: Mapping[str, QueryValue] | None = None
    ) -> Any:
        return await self.request("GET", path, auth=auth, params=params)

    async def post(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        auth: Auth = "required",
    ) -> Any:
        return await self.request("POST", path, auth=auth, body=body)

    async def request(
        self,
        method: str,
        path: str,
        *,
        auth: Auth = "required",
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, QueryValue] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON body of a 2xx answer."""
        headers: dict[str, str] = {}
        if auth != "none" and self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif auth == "required":
            raise MissingApiKeyError()
        query = _clean_query(params)
        try:
            response = await self._send(method, path, headers, body, query)
        except BackendUnavailableError:
            if self._launcher is None:
                raise
            await self._launcher()
            response = await self._send(method, path, headers, body, query)
        return _decode(response)

    async def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Mapping[str, Any] | None,
        query: QueryPairs,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, path.lstrip("/"), headers=headers, json=body, params=query
            )
        except httpx.TimeoutException:
            raise BackendUnavailableError(
                f"The Plurum backend at {self.api_url} did not answer within "
                f"{self.timeout_s:g} s. Try again in a moment."
            ) from None
        except httpx.TransportError as exc:
            raise BackendUnavailableError(
                f"Cannot reach the Plurum backend at {self.api_url} ({_reason(exc)}). Start it "
                "with `plurum serve`, or point PLURUM_API_URL at a running one."
            ) from None


def _clean_query(params: Mapping[str, QueryValue] | None) -> QueryPairs:
    query: QueryPairs = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list):
            query.extend((key, item) for item in value)
        elif isinstance(value, bool):
            query.append((key, "true" if value else "false"))
        else:
            query.append((key, str(value)))
    return query


def _decode(response: httpx.Response) -> Any:
    if response.is_success:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise BackendRefusedError(response.status_code, "the answer was not JSON") from None
    raise BackendRefusedError(
        response.status_code,
        _detail(response),
        retry_after=response.headers.get("Retry-After"),
    )


def _detail(response: httpx.Response) -> str:
    """The backend's own ``detail`` sentence (plus field errors on a 422)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason_phrase or "no detail given"
    if not isinstance(body, dict):
        return str(body)[:300]
    detail = str(body.get("detail") or response.reason_phrase or "no detail given")
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        fields = []
        for error in errors[:5]:
            if isinstance(error, dict):
                loc = ".".join(str(part) for part in error.get("loc", []) if part != "body")
                fields.append(f"{loc}: {error.get('msg', '')}".strip(": "))
        if fields:
            detail = f"{detail} ({'; '.join(fields)})"
    return detail


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    if isinstance(exc, httpx.ConnectError):
        return "connection refused" if not text or "refused" in text.lower() else text
    return text or type(exc).__name__
