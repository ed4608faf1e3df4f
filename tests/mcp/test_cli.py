"""The `plurum-mcp` command line: arguments, transport security, configuration errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from plurum_mcp import __version__
from plurum_mcp.cli import parse_args, transport_security


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plurum_mcp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_defaults() -> None:
    args = parse_args([])
    assert (args.transport, args.host, args.port) == ("stdio", "127.0.0.1", 8001)
    assert not args.channels and not args.no_autostart


def test_bad_port_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--port", "70000"])


def test_dns_rebinding_protection_is_always_on() -> None:
    loopback = transport_security("127.0.0.1", 8001, [], [])
    assert loopback.enable_dns_rebinding_protection
    assert "localhost:*" in loopback.allowed_hosts and "127.0.0.1:8001" in loopback.allowed_hosts
    assert "http://localhost:*" in loopback.allowed_origins
    lan = transport_security("10.0.0.5", 9000, ["mcp.internal:443"], ["https://app.internal"])
    assert lan.enable_dns_rebinding_protection
    assert {"10.0.0.5:9000", "mcp.internal:443"} <= set(lan.allowed_hosts)
    assert "https://app.internal" in lan.allowed_origins
    everywhere = transport_security("0.0.0.0", 8001, [], [])
    assert not any(host.startswith("0.0.0.0") for host in everywhere.allowed_hosts)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_bad_configuration_is_one_sentence(tmp_path: object) -> None:
    result = run(env={"PLURUM_API_URL": "ftp://nowhere", "PLURUM_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "plurum-mcp: PLURUM_API_URL must be an http(s) URL such as "
        "http://127.0.0.1:8000/api/v1, got 'ftp://nowhere'."
    ]
