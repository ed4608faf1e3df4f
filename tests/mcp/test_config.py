"""Configuration: environment, the credentials file written by `plurum register`, the rules."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from plurum_mcp import credentials
from plurum_mcp.config import Settings
from plurum_mcp.credentials import Credentials
from plurum_mcp.errors import ConfigError

KEY = "plrm_live_" + "k" * 32
LOCAL = credentials.DEFAULT_API_URL


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"PLURUM_DATA_DIR": str(tmp_path), **values}


def test_credentials_file_is_private_and_round_trips(tmp_path: Path) -> None:
    path = credentials.save(Credentials("http://localhost:8000/api/v1/", KEY), tmp_path / "c.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = credentials.load(path)
    assert loaded == Credentials(LOCAL, KEY)
    assert credentials.load(tmp_path / "missing.json") is None
    assert credentials.credentials_path(env(tmp_path)) == tmp_path / "credentials.json"


@pytest.mark.parametrize("body", ["{", "[]", '{"api_url": "http://x"}', '{"api_key": 3}'])
def test_a_broken_credentials_file_is_one_clear_sentence(tmp_path: Path, body: str) -> None:
    (tmp_path / "credentials.json").write_text(body)
    with pytest.raises(ConfigError, match=r"credentials file .*credentials\.json"):
        Settings.from_env(env(tmp_path))


def test_defaults_without_anything(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.api_url == LOCAL and settings.api_key is None
    assert settings.key_source == "none" and settings.may_autostart
    assert not settings.channels


def test_stored_key_is_used_for_its_own_server_only(tmp_path: Path) -> None:
    credentials.save(Credentials(LOCAL, KEY), tmp_path / "credentials.json")
    stored = Settings.from_env(env(tmp_path))
    assert stored.api_key == KEY and stored.key_source == "file"
    elsewhere = Settings.from_env(env(tmp_path, PLURUM_API_URL="https://plurum.example/api/v1"))
    assert elsewhere.api_key is None and elsewhere.key_source == "none"
    assert not elsewhere.may_autostart
    same = Settings.from_env(env(tmp_path, PLURUM_API_URL="http://localhost:8000/api/v1/"))
    assert same.api_key == KEY and not same.may_autostart  # a chosen URL is never auto-started


def test_environment_wins_and_remote_credentials_are_followed(tmp_path: Path) -> None:
    remote = "https://plurum.example/api/v1"
    credentials.save(Credentials(remote, KEY), tmp_path / "credentials.json")
    settings = Settings.from_env(env(tmp_path))
    assert settings.api_url == remote and settings.api_key == KEY
    assert not settings.may_autostart  # not a loopback host
    other = "plrm_live_" + "e" * 32
    settings = Settings.from_env(env(tmp_path, PLURUM_API_KEY=other))
    assert settings.api_key == other and settings.key_source == "env"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"PLURUM_API_URL": "ftp://x"}, "PLURUM_API_URL must be an http"),
        ({"PLURUM_API_URL": "not a url"}, "PLURUM_API_URL must be an http"),
        ({"PLURUM_MCP_CHANNELS": "maybe"}, "PLURUM_MCP_CHANNELS must be 1 or 0"),
    ],
)
def test_bad_configuration_is_one_sentence(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env(tmp_path, **values))


def test_flags(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, PLURUM_MCP_CHANNELS="1", PLURUM_MCP_AUTOSTART="0"))
    assert settings.channels and not settings.may_autostart
