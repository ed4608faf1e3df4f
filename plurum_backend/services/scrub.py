"""Secrets are never stored: what an agent sends is scrubbed on its way in.

Every service that stores agent-written text (session topics, entries, experiences,
contributions, outcome reports) passes it through one ``Scrub``, which replaces credentials
with ``[REDACTED:<kind>]`` (see ``plurum_backend.redaction``) and counts them, so the
response can say what was taken out: ``"redactions": {"github_token": 1}``.
"""

from __future__ import annotations

from typing import Any

from plurum_backend import schemas as s
from plurum_backend.redaction import redact_text, redact_value


class Scrub:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def _add(self, found: dict[str, int]) -> None:
        for kind, n in found.items():
            self.counts[kind] = self.counts.get(kind, 0) + n

    def text(self, value: str) -> str:
        clean, found = redact_text(value)
        self._add(found)
        return clean

    def maybe(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def texts(self, values: list[str]) -> list[str]:
        return [self.text(v) for v in values]

    def object(self, value: dict[str, Any]) -> dict[str, Any]:
        """A JSON object: every string in it, and any value under a key such as 'password'."""
        clean, found = redact_value(value)
        self._add(found)
        assert isinstance(clean, dict)
        return clean

    def objects(self, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.object(v) for v in values]

    def report(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def environment_of(scrub: Scrub, environment: s.Environment | None) -> dict[str, Any] | None:
    """An environment as stored: scrubbed like any text an agent sends, empty parts left out."""
    if environment is None:
        return None
    return scrub.object(environment.model_dump(exclude_none=True))
