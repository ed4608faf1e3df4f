"""Secrets are never stored: what an agent sends is scrubbed on its way in.

Every service that stores agent-written text (session topics, entries, experiences,
contributions, outcome reports) passes it through one ``Scrub``, which replaces credentials
with ``[REDACTED:<kind>]`` (see ``plurum_backend.redaction``) and counts them, so the
response can say what was taken out: ``"redactions": {"github_token": 1}``. Hidden
characters (``plurum_backend.hidden``: tag characters, zero-width and bidi controls) are
removed by the same pass and counted the same way (``"zero_width": 3``).

A ``Scrub(screen=True)`` also keeps each text as it came, *before* anything is removed (so
text smuggled in tag characters is seen), and ``await scrub.reasons()`` reads them for
instructions aimed at the reading agent (``services.injection``) in a worker thread (a
1 MiB body takes a fraction of a second that the event loop must not wait) unless the texts
are short (an entry, a topic: ~0.06 ms to read, less than handing them to a thread costs the
event loop); the caller decides what a reason does (hold the experience, refuse the
contribution).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

from plurum_backend import schemas as s
from plurum_backend.redaction import redact_text, redact_value
from plurum_backend.services import injection

INLINE_CHARS = 1000  # read on the event loop up to here: ~0.5 ms at worst (1.1 ms per 2 KB)


def _chars(value: Any, stop: int) -> int:
    """The characters of the strings in ``value``, counted until more than ``stop``."""
    if isinstance(value, str):
        return len(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    total = 0
    for item in items:
        if isinstance(item, dict | list | str):
            total += _chars(item, stop - total)
            if total > stop:
                break
    return total


class Scrub:
    def __init__(self, *, screen: bool = False) -> None:
        self.counts: dict[str, int] = {}
        self.screen = screen
        self._unread: list[tuple[Any, str, bool]] = []  # (value, field, artifact)

    def _add(self, found: dict[str, int]) -> None:
        for kind, n in found.items():
            self.counts[kind] = self.counts.get(kind, 0) + n

    def text(self, value: str, field: str = "text") -> str:
        if self.screen:
            self._unread.append((value, field, False))
        clean, found = redact_text(value)
        self._add(found)
        return clean

    def maybe(self, value: str | None, field: str = "text") -> str | None:
        return None if value is None else self.text(value, field)

    def texts(self, values: list[str], field: str = "text") -> list[str]:
        return [self.text(v, f"{field}[{i}]") for i, v in enumerate(values)]

    def object(
        self, value: dict[str, Any], field: str = "content", *, artifact: bool = False
    ) -> dict[str, Any]:
        """A JSON object: every string in it, and any value under a key such as 'password'.

        ``artifact``: its ``code``/``content`` strings are source code, screened as code."""
        if self.screen:
            self._unread.append((value, field, artifact))
        clean, found = redact_value(value)
        self._add(found)
        assert isinstance(clean, dict)
        return clean

    def objects(
        self, values: list[dict[str, Any]], field: str = "items", *, artifact: bool = False
    ) -> list[dict[str, Any]]:
        return [self.object(v, f"{field}[{i}]", artifact=artifact) for i, v in enumerate(values)]

    async def reasons(self) -> list[dict[str, str]]:
        """What the screen found, as stored in ``held_reasons`` (empty: nothing)."""
        unread, self._unread = self._unread, []
        if not unread:
            return []

        def read() -> list[dict[str, str]]:
            found: list[injection.Finding] = []
            for value, field, artifact in unread:
                found += injection.inspect_value(value, field, artifact=artifact)
            return injection.reasons(found)

        if sum(_chars(value, INLINE_CHARS) for value, _, _ in unread) <= INLINE_CHARS:
            return read()
        return await anyio.to_thread.run_sync(read)

    def report(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def environment_of(scrub: Scrub, environment: s.Environment | None) -> dict[str, Any] | None:
    """An environment as stored: scrubbed like any text an agent sends, empty parts left out."""
    if environment is None:
        return None
    return scrub.object(environment.model_dump(exclude_none=True), "environment")
