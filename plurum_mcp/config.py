"""Settings of the MCP server, read once from the environment and the credentials file.

Environment (all optional): ``PLURUM_API_URL`` (default the local backend), ``PLURUM_API_KEY``
(else the key stored by ``plurum register`` for that URL), ``PLURUM_DATA_DIR`` (where the
credentials file and the auto-start lock live), ``PLURUM_MCP_CHANNELS=1`` (Claude Code channel
notifications), ``PLURUM_MCP_AUTOSTART=0`` (never start a local backend),
``PLURUM_MCP_ENVIRONMENT=0`` (do not send the working directory's package versions).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from plurum_mcp import credentials
from plurum_mcp.errors import ConfigError

KeySource = Literal["env", "file", "none"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_key: str | None
    data_dir: Path
    key_source: KeySource = "none"
    api_url_from_env: bool = False
    autostart: bool = True
    channels: bool = False
    environment: bool = True  # send the project's packages (plurum_mcp.environment)
    project_dir: Path | None = None  # where to read them: the working directory the host gave
    pulse: bool = True
    request_timeout_s: float = 30.0
    pulse_poll_interval_s: float = 15.0

    @property
    def may_autostart(self) -> bool:
        """Start ``plurum serve`` only for the implicit local default, never for a chosen URL."""
        host = urlsplit(self.api_url).hostname or ""
        return self.autostart and not self.api_url_from_env and host in LOOPBACK_HOSTS

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = credentials.data_dir(env)
        try:
            stored = credentials.load(data_dir / credentials.FILE_NAME)
        except credentials.CredentialsError as exc:
            raise ConfigError(str(exc)) from None

        env_url = env.get("PLURUM_API_URL", "").strip()
        if env_url:
            api_url = check_api_url(env_url)
        elif stored is not None:
            api_url = check_api_url(stored.api_url)
        else:
            api_url = credentials.DEFAULT_API_URL

        env_key = env.get("PLURUM_API_KEY", "").strip()
        stored_key = stored.key_for(api_url) if stored is not None else None
        key_source: KeySource = "env" if env_key else "file" if stored_key else "none"
        return cls(
            api_url=api_url,
            api_key=env_key or stored_key,
            data_dir=data_dir,
            key_source=key_source,
            api_url_from_env=bool(env_url),
            autostart=_flag(env, "PLURUM_MCP_AUTOSTART", default=True),
            channels=_flag(env, "PLURUM_MCP_CHANNELS", default=False),
            environment=_flag(env, "PLURUM_MCP_ENVIRONMENT", default=True),
            project_dir=Path.cwd(),
        )


def check_api_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"PLURUM_API_URL must be an http(s) URL such as {credentials.DEFAULT_API_URL}, "
            f"got {url!r}."
        )
    return credentials.normalize_api_url(url)


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {value!r}.")
