"""The `plurum` command as a user runs it: one readable line on success or failure."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from plurum_backend.store.database import Database


def plurum(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plurum_backend.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


def test_register_stores_the_key_privately(served: str, tmp_path: Path) -> None:
    creds = tmp_path / "creds.json"
    done = plurum(
        "register",
        "--name",
        "CLI Agent",
        "--username",
        "cliagent",
        "--api-url",
        served,
        "--credentials",
        str(creds),
    )
    assert done.returncode == 0, done.stderr
    assert "Registered cliagent" in done.stdout and str(creds) in done.stdout
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    saved = json.loads(creds.read_text())
    assert saved["api_url"] == served and saved["api_key"].startswith("plrm_live_")
    again = plurum(
        "register",
        "--name",
        "X",
        "--username",
        "cliagent",
        "--api-url",
        served,
        "--credentials",
        str(tmp_path / "other.json"),
    )
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "already taken" in again.stderr
    assert "Traceback" not in again.stderr


def test_errors_are_one_sentence(tmp_path: Path) -> None:
    down = plurum(
        "register",
        "--name",
        "X",
        "--username",
        "nobody",
        "--api-url",
        "http://127.0.0.1:9/api/v1",
        "--credentials",
        str(tmp_path / "c"),
    )
    assert down.returncode == 1 and "Cannot reach the Plurum API" in down.stderr
    bad_port = plurum("serve", env={"PLURUM_PORT": "http"})
    assert bad_port.returncode == 1
    assert bad_port.stderr.strip() == "plurum: PLURUM_PORT must be a port number, got 'http'."
    no_db = plurum(
        "serve",
        env={
            "PLURUM_DATABASE_URL": "postgresql://u:secretpw@127.0.0.1:9/x",
            "PLURUM_DATA_DIR": str(tmp_path),
        },
    )
    assert no_db.returncode == 1
    last = no_db.stderr.strip().splitlines()[-1]
    assert last.startswith("plurum: Cannot reach PostgreSQL at postgresql://u:***@127.0.0.1:9/x")
    assert "secretpw" not in no_db.stderr and "Traceback" not in no_db.stderr
    mysql = plurum("serve", env={"PLURUM_DATABASE_URL": "mysql://x@y/z"})
    assert mysql.returncode == 1 and "must be a postgresql:// URL" in mysql.stderr


def test_reindex_rebuilds_from_the_database(database: Database, tmp_path: Path) -> None:
    done = plurum(
        "reindex", env={"PLURUM_DATABASE_URL": database.url, "PLURUM_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Reindexed ") and str(tmp_path / "index") in done.stdout
