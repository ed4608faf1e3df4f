"""What the agent's project runs on, read from its manifests and lock files.

Advice that worked on pydantic 1.10 can be wrong on 2.7, so the MCP server tells the backend
which packages the project in its working directory uses. Only names and versions leave the
machine: never a file's contents, paths, scripts or registry URLs. Off with
``PLURUM_MCP_ENVIRONMENT=0``; ``whoami`` shows exactly what is sent.

Read, nearest first: ``uv.lock``, ``poetry.lock``, ``requirements*.txt``, ``pyproject.toml``;
``package-lock.json``, ``pnpm-lock.yaml``, ``yarn.lock``, ``package.json``; ``go.mod``;
``Cargo.lock``. A lock file gives exact versions; where a manifest names the direct
dependencies, only those are sent (a lock file lists hundreds of transitive ones).
"""

from __future__ import annotations

import json
import platform
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

MAX_PACKAGES = 100  # the backend accepts at most this many; direct dependencies come first
MAX_FILE_BYTES = 5_000_000  # a lock file larger than this is skipped, not read

__all__ = ["MAX_PACKAGES", "detect"]

Packages = dict[str, str]

_NAME = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9._/@+-]*$")
_VERSION = re.compile(r"^v?\d[\w.+-]*$")
_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(==|>=|~=|<=|>|<)?\s*([\w.+*-]+)?"
)


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _toml(path: Path) -> dict[str, Any]:
    text = _read(path)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _clean_version(spec: str) -> str | None:
    """An exact version out of a specifier: ``^18.2.0`` -> ``18.2.0``; a range gives None."""
    spec = spec.strip().lstrip("=^~v ")
    return spec if _VERSION.match(spec) and not any(c in spec for c in "<>|* ") else None


# --- Python -----------------------------------------------------------------------------


def _python_direct(root: Path) -> list[str]:
    project = _toml(root / "pyproject.toml")
    names: list[str] = []
    specs: list[str] = list(project.get("project", {}).get("dependencies", []))
    poetry = project.get("tool", {}).get("poetry", {})
    names += [n for n in poetry.get("dependencies", {}) if n.lower() != "python"]
    for spec in specs:
        match = _REQUIREMENT.match(spec)
        if match:
            names.append(match.group(1))
    return [_pep503(n) for n in names]


def _lock_packages(path: Path) -> Packages:
    """uv.lock and poetry.lock: ``[[package]]`` tables with name and version."""
    found: Packages = {}
    for package in _toml(path).get("package", []):
        name, version = package.get("name"), package.get("version")
        if isinstance(name, str) and isinstance(version, str):
            found[_pep503(name)] = version
    return found


def _requirements(root: Path) -> Packages:
    found: Packages = {}
    for path in sorted(root.glob("requirements*.txt")):
        for line in (_read(path) or "").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith(("-", "git+", "http")):
                continue
            match = _REQUIREMENT.match(line)
            if match and match.group(2) == "==" and match.group(3):
                found[_pep503(match.group(1))] = match.group(3)
    return found


def _python(root: Path) -> Packages:
    locked: Packages = {}
    for lock in ("uv.lock", "poetry.lock"):
        locked.update(_lock_packages(root / lock))
    locked.update(_requirements(root))
    direct = _python_direct(root)
    if direct and locked:
        return {n: locked[n] for n in direct if n in locked}
    if direct:
        project = _toml(root / "pyproject.toml").get("project", {})
        pinned: Packages = {}
        for spec in project.get("dependencies", []):
            match = _REQUIREMENT.match(spec)
            if match and match.group(2) == "==" and match.group(3):
                pinned[_pep503(match.group(1))] = match.group(3)
        return pinned
    return locked


# --- JavaScript -------------------------------------------------------------------------


def _node_direct(root: Path) -> dict[str, str]:
    text = _read(root / "package.json")
    if text is None:
        return {}
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError:
        return {}
    direct: dict[str, str] = {}
    for field in ("dependencies", "devDependencies", "peerDependencies"):
        section = manifest.get(field)
        if isinstance(section, dict):
            direct.update({k: str(v) for k, v in section.items()})
    return direct


def _package_lock(root: Path) -> Packages:
    text = _read(root / "package-lock.json")
    if text is None:
        return {}
    try:
        lock = json.loads(text)
    except json.JSONDecodeError:
        return {}
    found: Packages = {}
    for key, entry in (lock.get("packages") or {}).items():
        if key.startswith("node_modules/") and isinstance(entry, dict) and "version" in entry:
            name = key.rsplit("node_modules/", 1)[1]
            found.setdefault(name, str(entry["version"]))
    return found


_PNPM_ENTRY = re.compile(
    r"(?m)^\s{4,6}'?(?P<name>@?[\w./-]+)'?:\n\s+specifier: .*\n\s+version: '?(?P<version>[\w.+-]+)"
)
_YARN_ENTRY = re.compile(
    r'(?m)^"?(?P<name>@?[^@\s"]+)@[^\n]*:\n(?:\s+.*\n)*?\s+version:? "?(?P<version>[\w.+-]+)"?'
)


def _pnpm_and_yarn(root: Path) -> Packages:
    found: Packages = {}
    for m in _PNPM_ENTRY.finditer(_read(root / "pnpm-lock.yaml") or ""):
        found.setdefault(m.group("name"), m.group("version"))
    for m in _YARN_ENTRY.finditer(_read(root / "yarn.lock") or ""):
        found.setdefault(m.group("name"), m.group("version"))
    return found


def _node(root: Path) -> Packages:
    direct = _node_direct(root)
    locked = {**_pnpm_and_yarn(root), **_package_lock(root)}
    if not direct:
        return {}
    packages: Packages = {}
    for name, spec in direct.items():
        version = locked.get(name) or _clean_version(spec)
        if version:
            packages[name] = version
    return packages


# --- Go and Rust ------------------------------------------------------------------------

_GO_REQUIRE = re.compile(
    r"(?m)^\s*(?:require\s+)?(?P<name>[\w.-]+\.[\w.-]+/[\w./-]+)\s+(?P<version>v[\w.+-]+)(?:\s*//\s*indirect)?"
)


def _go(root: Path) -> Packages:
    text = _read(root / "go.mod") or ""
    return {
        m.group("name"): m.group("version")
        for m in _GO_REQUIRE.finditer(text)
        if "// indirect" not in text[m.start() : text.find("\n", m.start())]
    }


def _rust(root: Path) -> Packages:
    manifest = _toml(root / "Cargo.toml")
    direct = set(manifest.get("dependencies", {})) | set(manifest.get("dev-dependencies", {}))
    locked = {
        p["name"]: p["version"]
        for p in _toml(root / "Cargo.lock").get("package", [])
        if "name" in p and "version" in p
    }
    if direct:
        return {n: locked[n] for n in sorted(direct) if n in locked}
    return locked


# --- runtime ----------------------------------------------------------------------------


def _runtime(root: Path, packages_by_ecosystem: dict[str, Packages]) -> str | None:
    """The project's language and version where a file pins it, e.g. ``python 3.11``."""
    pinned: list[tuple[str, Callable[[], str | None]]] = [
        ("python", lambda: (_read(root / ".python-version") or "").strip() or None),
        ("node", lambda: (_read(root / ".nvmrc") or "").strip().lstrip("v") or None),
        ("go", lambda: _first(re.findall(r"(?m)^go (\d[\w.]*)", _read(root / "go.mod") or ""))),
        (
            "rust",
            lambda: _first(
                re.findall(r'channel\s*=\s*"([\w.]+)"', _read(root / "rust-toolchain.toml") or "")
            ),
        ),
    ]
    for language, read in pinned:
        version = read()
        if version and _VERSION.match(version):
            return f"{language} {version}"
    for language in ("python", "node", "go", "rust"):
        if packages_by_ecosystem.get(language):
            return language
    return None


def _first(values: Iterable[str]) -> str | None:
    return next(iter(values), None)


def detect(root: Path) -> dict[str, Any] | None:
    """``{"os", "runtime", "packages"}`` for the project at ``root``; None when nothing is found."""
    by_ecosystem = {
        "python": _python(root),
        "node": _node(root),
        "go": _go(root),
        "rust": _rust(root),
    }
    packages: Packages = {}
    for found in by_ecosystem.values():
        for name, version in found.items():
            if len(packages) >= MAX_PACKAGES:
                break
            if (
                _NAME.match(name)
                and _VERSION.match(version)
                and len(name) <= 100
                and len(version) <= 50
            ):
                packages.setdefault(name, version)
    runtime = _runtime(root, by_ecosystem)
    if not packages and runtime is None:
        return None
    environment: dict[str, Any] = {"os": platform.system().lower() or None, "packages": packages}
    if runtime:
        environment["runtime"] = runtime
    return environment
