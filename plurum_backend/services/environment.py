"""How well an experience's environment fits the caller's: shared packages and conflicts.

An environment is ``{"os", "runtime", "packages": {name: version}}``. Two versions of a
package *match* when they agree on the release series that carries breaking changes: the
major version, or major.minor below 1.0 (semver's rule for 0.x). A conflict is any other
difference; conflicts across that series come first, since those are the ones where advice
stops holding ("succeeded on pydantic 1.10, you run 2.7").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from plurum_backend.store.environments import Evidence

__all__ = [
    "ENVIRONMENT_WEIGHT",
    "Conflict",
    "Evidence",
    "Fit",
    "fit",
    "leaning",
    "normalize_package",
    "series",
]

_NUMBERS = re.compile(r"\d+")


def normalize_package(name: str) -> str:
    """Python's rule (PEP 503) for names without a scope or path; others are kept, lowercased."""
    if "/" in name or name.startswith("@"):
        return name.lower()
    return re.sub(r"[-_.]+", "-", name).lower()


def series(version: str) -> tuple[int, ...]:
    """The release series that breaks: ``2.7.1`` -> (2,), ``0.4.2`` -> (0, 4), ``v1`` -> (1,)."""
    numbers = [int(n) for n in _NUMBERS.findall(version)[:3]]
    if not numbers:
        return ()
    return tuple(numbers[:2]) if numbers[0] == 0 else (numbers[0],)


@dataclass(frozen=True)
class Conflict:
    package: str
    theirs: str
    yours: str
    breaking: bool  # across a major series (or a 0.x minor)


@dataclass(frozen=True)
class Fit:
    matches: list[str]
    conflicts: list[Conflict]

    @property
    def breaking(self) -> int:
        return sum(1 for c in self.conflicts if c.breaking)


def fit(theirs: Mapping[str, str], yours: Mapping[str, str]) -> Fit:
    """Compare two package maps; only packages both name are compared."""
    mine = {normalize_package(k): v for k, v in yours.items()}
    matches: list[str] = []
    conflicts: list[Conflict] = []
    for name, their_version in theirs.items():
        key = normalize_package(name)
        your_version = mine.get(key)
        if your_version is None:
            continue
        if their_version == your_version:
            matches.append(key)
            continue
        breaking = series(their_version) != series(your_version)
        if breaking or _release(their_version) != _release(your_version):
            conflicts.append(Conflict(key, their_version, your_version, breaking))
        else:
            matches.append(key)  # same release, other build or pre-release tag
    conflicts.sort(key=lambda c: (not c.breaking, c.package))
    return Fit(sorted(matches), conflicts)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in _NUMBERS.findall(version)[:3])


# Added to (or taken from) a hit's fused score, which lies in [0, 1], to prefer advice that
# worked on the caller's versions: enough to swap neighbours, never to lift a weak match over
# a strong one (docs/help.md has the dev-set figures).
ENVIRONMENT_WEIGHT = 0.1


def leaning(evidence: Evidence, yours: Mapping[str, str]) -> int:
    """+1 when it worked somewhere that fits yours, -1 when it only ever worked on versions
    that break against yours (or failed on yours), 0 when nothing can be said."""

    def fits(packages: Mapping[str, str]) -> bool | None:
        result = fit(packages, yours)
        if result.breaking:
            return False
        return True if result.matches or result.conflicts else None

    worked = [fits(p) for p in evidence.successes]
    failed_here = any(fits(p) for p in evidence.failures)
    if any(w is True for w in worked) and not failed_here:
        return 1
    if failed_here or (worked and all(w is False for w in worked)):
        return -1
    return 0
