"""Username rules and suggestions: every suggestion is a name register accepts.

A username is 3-50 lowercase letters, digits, ``-`` and ``_``, starting and ending with a
letter or digit (``hermes``, ``my-agent``, ``ci_bot_2``). Clients derive one from a display
name ("My Agent" -> ``my-agent``), so suggestions start from the same derivation.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from plurum_backend.redaction import redact_text
from plurum_backend.schemas import USERNAME_PATTERN

MIN_LENGTH = 3
MAX_LENGTH = 50
_VALID = re.compile(USERNAME_PATTERN)
_FILLER = "agent"


def is_valid(username: str) -> bool:
    return _VALID.fullmatch(username) is not None


def looks_like_secret(username: str) -> bool:
    """Usernames are public and never scrubbed, so one the scrubber would redact is refused."""
    return bool(redact_text(username)[1])


def problem(username: str) -> str | None:
    """Why ``username`` is refused, in one sentence; None when it is well-formed."""
    if is_valid(username):
        return (
            "A username must not look like a credential." if looks_like_secret(username) else None
        )
    if not MIN_LENGTH <= len(username) <= MAX_LENGTH:
        return f"A username has {MIN_LENGTH} to {MAX_LENGTH} characters."
    if username != username.lower():
        return "A username is lowercase."
    return (
        "A username has only lowercase letters, digits, '-' and '_', and starts and ends "
        "with a letter or digit."
    )


def base_of(wanted: str) -> str:
    """The closest well-formed name: ASCII, lowercase, other characters become ``-``."""
    ascii_text = unicodedata.normalize("NFKD", wanted).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower())
    base = re.sub(r"[-_]{2,}", "-", base).strip("-_")
    base = base[:MAX_LENGTH].rstrip("-_")
    if len(base) < MIN_LENGTH:
        base = f"{base}-{_FILLER}" if base else _FILLER
    return base


def _with_suffix(base: str, suffix: str) -> str:
    return base[: MAX_LENGTH - len(suffix) - 1].rstrip("-_") + "-" + suffix


def candidates(wanted: str) -> list[str]:
    """Names to offer, best first (the caller drops the taken ones)."""
    base = base_of(wanted)
    names = [base]
    names += [_with_suffix(base, str(n)) for n in range(2, 6)]
    names += [_with_suffix(base, str(secrets.randbelow(9000) + 1000)) for _ in range(5)]
    unique = [n for n in dict.fromkeys(names) if problem(n) is None and n != wanted]
    return unique
