"""The MCP server's reading of a project's manifests and lock files: names and versions only."""

from __future__ import annotations

import json
from pathlib import Path

from plurum_mcp.environment import MAX_PACKAGES, detect


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_uv_project_sends_its_direct_dependencies_at_their_locked_versions(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n'
            'dependencies = ["pydantic>=2", "SQLAlchemy[asyncio]~=2.0"]\n',
            "uv.lock": """version = 1
[[package]]
name = "pydantic"
version = "2.7.4"
[[package]]
name = "pydantic-core"
version = "2.18.4"
[[package]]
name = "sqlalchemy"
version = "2.0.31"
""",
            ".python-version": "3.11\n",
        },
    )
    env = detect(tmp_path)
    assert env is not None
    assert env["packages"] == {"pydantic": "2.7.4", "sqlalchemy": "2.0.31"}
    assert env["runtime"] == "python 3.11"
    assert env["os"]


def test_poetry_and_requirements(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "poetry.lock": '[[package]]\nname = "Django"\nversion = "4.2.13"\n',
            "requirements-dev.txt": "pytest==8.2.0  # tests\nrequests>=2\n-e ./local\n"
            "git+https://user:s3cret@example.com/repo.git\n",
        },
    )
    env = detect(tmp_path)
    assert env is not None
    assert env["packages"] == {"django": "4.2.13", "pytest": "8.2.0"}
    assert "s3cret" not in json.dumps(env)


def test_node_project_with_package_lock(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": json.dumps(
                {
                    "name": "web",
                    "scripts": {"deploy": "curl -H 'token: abc123' https://x"},
                    "dependencies": {"react": "^18.2.0", "next": "14.2.3"},
                    "devDependencies": {"vite": "^5.0.0"},
                }
            ),
            "package-lock.json": json.dumps(
                {
                    "packages": {
                        "": {"name": "web"},
                        "node_modules/react": {"version": "18.3.1"},
                        "node_modules/loose-envify": {"version": "1.4.0"},
                    }
                }
            ),
            ".nvmrc": "v20.11.1\n",
        },
    )
    env = detect(tmp_path)
    assert env is not None
    assert env["packages"] == {"react": "18.3.1", "next": "14.2.3", "vite": "5.0.0"}
    assert env["runtime"] == "node 20.11.1"
    assert "abc123" not in json.dumps(env)


def test_pnpm_and_yarn_locks(tmp_path: Path) -> None:
    pnpm = tmp_path / "pnpm"
    pnpm.mkdir()
    write(
        pnpm,
        {
            "package.json": json.dumps({"dependencies": {"express": "^4.18.0"}}),
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n"
            "      express:\n        specifier: ^4.18.0\n        version: 4.19.2\n",
        },
    )
    env = detect(pnpm)
    assert env is not None
    assert env["packages"] == {"express": "4.19.2"} and env["runtime"] == "node"
    yarn = tmp_path / "yarn"
    yarn.mkdir()
    write(
        yarn,
        {
            "package.json": json.dumps({"dependencies": {"lodash": "^4.17.0"}}),
            "yarn.lock": 'lodash@^4.17.0:\n  version "4.17.21"\n  resolved "https://registry/x"\n',
        },
    )
    env = detect(yarn)
    assert env is not None and env["packages"] == {"lodash": "4.17.21"}


def test_go_module_and_cargo(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "go.mod": "module example.com/svc\n\ngo 1.22\n\n"
            "require (\n\tgithub.com/lib/pq v1.10.9\n"
            "\tgolang.org/x/sys v0.20.0 // indirect\n)\n",
            "Cargo.toml": '[package]\nname = "cli"\n[dependencies]\nserde = "1"\n',
            "Cargo.lock": '[[package]]\nname = "serde"\nversion = "1.0.203"\n'
            '[[package]]\nname = "itoa"\nversion = "1.0.11"\n',
        },
    )
    env = detect(tmp_path)
    assert env is not None
    assert env["packages"] == {"github.com/lib/pq": "v1.10.9", "serde": "1.0.203"}
    assert env["runtime"] == "go 1.22"


def test_nothing_found_and_limits(tmp_path: Path) -> None:
    assert detect(tmp_path) is None
    many = "\n".join(f"pkg{i}==1.0.{i}" for i in range(MAX_PACKAGES + 50))
    write(tmp_path, {"requirements.txt": many})
    env = detect(tmp_path)
    assert env is not None and len(env["packages"]) == MAX_PACKAGES
