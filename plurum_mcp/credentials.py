"""The credentials file shared by ``plurum register`` (writer) and ``plurum-mcp`` (reader).

Format, version 1: a JSON object ``{"api_url": "...", "api_key": "plrm_live_..."}``, written
atomically with mode 0600 at ``$PLURUM_DATA_DIR/credentials.json``, else in the platform's user
data directory for ``plurum``. A key is only ever sent to the ``api_url`` it was issued by:
``Credentials.key_for`` answers ``None`` for any other URL, so pointing ``PLURUM_API_URL`` at
another server never leaks the stored key to it.

This module imports nothing from the rest of ``plurum_mcp`` so the backend CLI can use it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = [
    "DEFAULT_API_URL",
    "Credentials",
    "CredentialsError",
    "credentials_path",
    "data_dir",
    "load",
    "normalize_api_url",
    "save",
]

DEFAULT_API_URL = "http://127.0.0.1:8000/api/v1"
FILE_NAME = "credentials.json"


class CredentialsError(Exception):
    """The credentials file exists but cannot be read as credentials."""


@dataclass(frozen=True)
class Credentials:
    api_url: str
    api_key: str

    def key_for(self, api_url: str) -> str | None:
        """The stored key if it was issued by ``api_url``, else ``None``."""
        if normalize_api_url(api_url) == normalize_api_url(self.api_url):
            return self.api_key
        return None


def normalize_api_url(url: str) -> str:
    """One spelling per server: no trailing slash, ``localhost`` read as ``127.0.0.1``."""
    url = url.strip().rstrip("/")
    return url.replace("://localhost:", "://127.0.0.1:").replace("://localhost/", "://127.0.0.1/")


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$PLURUM_DATA_DIR``, else the platform's user data directory (same rule as the backend)."""
    env = os.environ if environ is None else environ
    configured = env.get("PLURUM_DATA_DIR")
    path = Path(configured) if configured else Path(platformdirs.user_data_dir("plurum"))
    return path.expanduser().resolve()


def credentials_path(environ: Mapping[str, str] | None = None) -> Path:
    return data_dir(environ) / FILE_NAME


def load(path: Path | None = None) -> Credentials | None:
    """Read the credentials file; ``None`` when there is none."""
    path = path or credentials_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(f"Cannot read the credentials file {path}: {exc.strerror}.") from exc
    try:
        data = json.loads(raw)
    except ValueError:
        raise CredentialsError(f"The credentials file {path} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"The credentials file {path} must hold a JSON object.")
    api_url, api_key = data.get("api_url"), data.get("api_key")
    if not isinstance(api_url, str) or not isinstance(api_key, str) or not api_key:
        raise CredentialsError(
            f"The credentials file {path} must have string fields 'api_url' and 'api_key'."
        )
    return Credentials(api_url=normalize_api_url(api_url), api_key=api_key)


def save(credentials: Credentials, path: Path | None = None) -> Path:
    """Write the credentials atomically, readable by the owner only (0600)."""
    path = path or credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps(
        {"api_url": normalize_api_url(credentials.api_url), "api_key": credentials.api_key},
        indent=2,
    )
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", suffix=".json", dir=path.parent)
    try:
        os.chmod(tmp, 0o600)  # mkstemp already makes it 0600 on POSIX; say it anyway
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
