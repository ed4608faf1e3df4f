"""What a database or disk failure means for a caller: 503 (try again soon) or 507 (disk full).

Every request path ends in ``translate``: a connection refused, reset or closed while the
embedded PostgreSQL restarts, a server in crash recovery or shutting down, a statement or
lock timeout, an exhausted pool, a full disk. Anything not recognised here stays what it
was (a bug, answered 500 and logged with its traceback).
"""

from __future__ import annotations

import errno

import psycopg
import sqlalchemy.exc

from plurum_backend.errors import InsufficientStorage, PlurumError, Unavailable

# SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_CONNECTION_CLASS = "08"  # connection exception
_DISK_FULL = "53100"
_RESOURCES_CLASS = "53"  # out of memory, too many connections, ...
_OPERATOR_CLASS = "57"  # 57014 query_canceled, 57P01 admin_shutdown, 57P02/3 crash/cannot connect
_SYSTEM_CLASS = "58"  # I/O error
_LOCK_NOT_AVAILABLE = "55P03"
_QUERY_CANCELED = "57014"

DISK_FULL_DETAIL = (
    "The database's disk is full, so Plurum cannot store anything new; reads still work. "
    "Free some space and try again."
)
INDEX_FULL_DETAIL = (
    "The search index's disk is full, so Plurum cannot store anything new; reads still work. "
    "Free some space and try again."
)
RESTARTING_DETAIL = "The database is restarting or unreachable; try again in a few seconds."


def _sqlstate(exc: BaseException) -> str | None:
    if isinstance(exc, psycopg.Error):
        return exc.sqlstate
    return None


def translate(exc: BaseException, timeout_s: float) -> PlurumError | None:
    """The PlurumError a caller should see for ``exc``, or None when it is no fault of ours
    to explain (then it is a bug and stays a 500)."""
    if isinstance(exc, PlurumError):
        return exc
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # no pooled connection became free
        return Unavailable(
            f"Every database connection stayed busy for {timeout_s / 2:g} s; try again shortly.",
            retry_after=2,
        )
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return InsufficientStorage(INDEX_FULL_DETAIL)
    cause: BaseException = exc
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None:
        cause = exc.orig
        if exc.connection_invalidated:
            return Unavailable(RESTARTING_DETAIL)
    state = _sqlstate(cause) or ""
    if state == _DISK_FULL:
        return InsufficientStorage(DISK_FULL_DETAIL)
    if state in (_QUERY_CANCELED, _LOCK_NOT_AVAILABLE):
        return Unavailable(
            f"The database did not answer within {timeout_s:g} s (a long-held lock or an "
            "overloaded server); try again shortly.",
            retry_after=max(1, round(timeout_s)),
        )
    if state[:2] in (_CONNECTION_CLASS, _RESOURCES_CLASS, _OPERATOR_CLASS, _SYSTEM_CLASS):
        return Unavailable(RESTARTING_DETAIL)
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        # no SQLSTATE: refused, reset or closed connections, a server that went away
        return Unavailable(RESTARTING_DETAIL)
    if isinstance(
        exc,
        sqlalchemy.exc.InterfaceError
        | sqlalchemy.exc.OperationalError
        | sqlalchemy.exc.PendingRollbackError  # a connection that died mid-transaction
        | sqlalchemy.exc.ResourceClosedError,
    ):
        return Unavailable(RESTARTING_DETAIL)
    if isinstance(exc, ConnectionError):
        return Unavailable(RESTARTING_DETAIL)
    return None


def is_fault(exc: BaseException) -> bool:
    """Is ``exc`` the database or a disk being away (not a bug)? For quieter logging."""
    return not isinstance(exc, PlurumError) and translate(exc, 0) is not None


def summary(exc: BaseException) -> str:
    """The first line of an error, for a one-line log entry."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
