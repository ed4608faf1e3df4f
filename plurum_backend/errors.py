"""The one error hierarchy of Plurum; the API renders each as ``{"detail": message}``.

PlurumError                 (status 400)
├── BadRequest              400
├── Unauthorized            401
├── Forbidden               403
├── NotFound                404
├── Conflict                409
├── PayloadTooLarge         413
├── Invalid                 422
├── RateLimited             429 (carries retry_after seconds)
├── InsufficientStorage     507 (a full disk: writes refused, reads still answered)
├── Unavailable             503 (the database is away or too slow; carries retry_after)
└── ConfigError             raised at start-up, printed as one sentence
"""

from __future__ import annotations

from typing import Any


class PlurumError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(PlurumError):
    status_code = 400


class Unauthorized(PlurumError):
    status_code = 401


class Forbidden(PlurumError):
    status_code = 403


class NotFound(PlurumError):
    status_code = 404


class Conflict(PlurumError):
    status_code = 409


class PayloadTooLarge(PlurumError):
    status_code = 413


class Invalid(PlurumError):
    status_code = 422

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class RateLimited(PlurumError):
    status_code = 429

    def __init__(
        self, message: str, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers or {}  # the quota's RateLimit fields, sent with the 429


class Unavailable(PlurumError):
    """The database is restarting, unreachable or did not answer in time: try again soon."""

    status_code = 503

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InsufficientStorage(PlurumError):
    """The disk under the database or the search index is full: writes wait for space."""

    status_code = 507

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(PlurumError):
    """Bad configuration or an unusable database: stops the start with one sentence."""
