"""Settings, read once from the environment (all optional)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from plurum_backend.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# What runs the model (docs/search.md, "Embedding backends", has the measurements behind the
# default: the fastest one whose nDCG@10 stays within 0.005 of torch fp32).
BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "onnx"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    embedding_model: str = DEFAULT_MODEL
    embedding_backend: str = DEFAULT_BACKEND
    models_path: Path | None = None  # PLURUM_MODEL_DIR: where ONNX exports live
    # Rate limits (0 turns one off): registrations per client address and hour; writes and
    # searches per agent (or, without a key, per client address) and minute.
    registrations_per_hour: int = 5
    writes_per_minute: int = 1200
    searches_per_minute: int = 600
    # Peers (addresses or networks) whose X-Forwarded-For names the real client.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    pulse_similarity_threshold: float = 0.45
    pulse_auth_timeout_s: float = 10.0
    # The longest any request waits on the database (statement, lock, pool checkout,
    # connect): past it the request answers 503 with Retry-After (docs/operations.md).
    db_timeout_s: float = 10.0
    db_pool_size: int = 20  # request connections (plus as many again under bursts)
    # The usage log (services/usage.py): days kept, and whether search queries keep their text.
    usage_retention_days: int = 30
    record_queries: bool = True
    # Outcome drift (services/scoring.py, docs/trust.md): evidence this old counts half.
    outcome_half_life_days: float = 90.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def model_dir(self) -> Path:
        return self.models_path or self.data_dir / "models"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("PLURUM_DATA_DIR") or platformdirs.user_data_dir("plurum"))
        port_text = env.get("PLURUM_PORT", "8000")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"PLURUM_PORT must be a port number, got {port_text!r}.")
        threshold_text = env.get("PLURUM_PULSE_THRESHOLD", "0.45")
        try:
            threshold = float(threshold_text)
        except ValueError:
            raise ConfigError(
                f"PLURUM_PULSE_THRESHOLD must be a number, got {threshold_text!r}."
            ) from None
        backend = env.get("PLURUM_EMBEDDING_BACKEND", "").strip() or DEFAULT_BACKEND
        if backend not in BACKENDS:
            raise ConfigError(
                f"PLURUM_EMBEDDING_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}."
            )
        models = env.get("PLURUM_MODEL_DIR", "").strip()
        return cls(
            data_dir=data_dir.expanduser().resolve(),
            embedding_backend=backend,
            models_path=Path(models).expanduser().resolve() if models else None,
            registrations_per_hour=_count(env, "PLURUM_REGISTRATIONS_PER_HOUR", 5),
            writes_per_minute=_count(env, "PLURUM_WRITES_PER_MINUTE", 1200),
            searches_per_minute=_count(env, "PLURUM_SEARCHES_PER_MINUTE", 600),
            trusted_proxies=_networks(env.get("PLURUM_TRUSTED_PROXIES", "")),
            database_url=env.get("PLURUM_DATABASE_URL") or None,
            host=env.get("PLURUM_HOST", "127.0.0.1"),
            port=int(port_text),
            embedding_model=env.get("PLURUM_EMBEDDING_MODEL") or DEFAULT_MODEL,
            pulse_similarity_threshold=threshold,
            db_timeout_s=_seconds(env, "PLURUM_DB_TIMEOUT_S", 10.0),
            db_pool_size=_count(env, "PLURUM_DB_POOL_SIZE", 20) or 20,
            usage_retention_days=_days(env, "PLURUM_USAGE_RETENTION_DAYS", 30),
            record_queries=_flag(env, "PLURUM_RECORD_QUERIES", True),
            outcome_half_life_days=_half_life(env, "PLURUM_OUTCOME_HALF_LIFE_DAYS", 90.0),
        )


def _count(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip() or str(default)
    if not text.isdigit():
        raise ConfigError(f"{name} must be a whole number (0 turns the limit off), got {text!r}.")
    return int(text)


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip() or str(default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600:
        raise ConfigError(f"{name} must be a number of seconds from 0.1 to 3600, got {text!r}.")
    return value


def _days(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip() or str(default)
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a whole number of days, at least 1, got {text!r}.")
    return int(text)


def _half_life(env: dict[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip() or str(default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 36500:  # a hundred years: ageing off, for all practical purposes
        raise ConfigError(f"{name} must be a number of days from 1 to 36500, got {text!r}.")
    return value


_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off")


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in _YES + _NO:
        raise ConfigError(f"{name} must be 1 or 0 (also true/false, yes/no, on/off), got {text!r}.")
    return text in _YES


def _networks(text: str) -> tuple[str, ...]:
    """PLURUM_TRUSTED_PROXIES: comma-separated addresses or CIDR networks."""
    found = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"PLURUM_TRUSTED_PROXIES must list IP addresses or networks, got {item!r}."
            ) from None
    return tuple(found)
