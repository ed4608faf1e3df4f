"""Logs never carry secrets: every record is scrubbed as it is made.

A record's message, its string arguments and its traceback text pass through
``redact_text``, so an API key in a websocket URL (``?api_key=``), a token in a request
path or a password in a database error becomes ``[REDACTED:<kind>]`` before any handler
(uvicorn's access log included) formats it.
"""

from __future__ import annotations

import logging
from typing import Any

from plurum_backend.redaction import redact_text

_formatter = logging.Formatter()


def _scrub(value: object) -> object:
    return redact_text(value)[0] if isinstance(value, str) else value


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    record.msg = _scrub(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_scrub(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _scrub(v) for k, v in record.args.items()}
    if record.exc_info and not record.exc_text:
        record.exc_text = redact_text(_formatter.formatException(record.exc_info))[0]
    return record


def install() -> None:
    """Scrub every log record of this process from now on (idempotent)."""
    make = logging.getLogRecordFactory()
    if getattr(make, "scrubs_secrets", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub_record(make(*args, **kwargs))

    factory.scrubs_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
