"""Environment fit: which packages match and which conflict, breaking series first."""

from __future__ import annotations

from plurum_backend.services.environment import fit, series


def test_series_follows_semver() -> None:
    assert series("2.7.1") == (2,)
    assert series("v1.10.9") == (1,)
    assert series("0.4.2") == (0, 4)
    assert series("latest") == ()


def test_matches_and_conflicts_breaking_first() -> None:
    theirs = {
        "pydantic": "1.10.13",
        "fastapi": "0.110.0",
        "SQLAlchemy": "2.0.30",
        "httpx": "0.27.0",
    }
    yours = {"pydantic": "2.7.4", "fastapi": "0.111.1", "sqlalchemy": "2.0.30", "httpx": "0.27.2"}
    result = fit(theirs, yours)
    assert result.matches == ["sqlalchemy"]
    assert [(c.package, c.theirs, c.yours, c.breaking) for c in result.conflicts] == [
        ("fastapi", "0.110.0", "0.111.1", True),
        ("pydantic", "1.10.13", "2.7.4", True),
        ("httpx", "0.27.0", "0.27.2", False),
    ]
    assert result.breaking == 2


def test_only_packages_both_sides_name_are_compared() -> None:
    result = fit(
        {"react": "18.2.0", "@types/node": "20.1.0"}, {"vue": "3.4.0", "@Types/Node": "20.1.0"}
    )
    assert result.matches == ["@types/node"] and result.conflicts == []
    assert fit({}, {"x": "1"}).matches == []


def test_leaning_prefers_advice_that_worked_on_your_versions() -> None:
    from plurum_backend.services.environment import Evidence, leaning

    v1, v2 = {"pydantic": "1.10.13"}, {"pydantic": "2.7.4"}
    assert leaning(Evidence(successes=[v2], failures=[]), v2) == 1
    assert leaning(Evidence(successes=[v1], failures=[]), v2) == -1
    assert leaning(Evidence(successes=[v1, v2], failures=[]), v2) == 1
    assert leaning(Evidence(successes=[v2], failures=[{"pydantic": "2.6.0"}]), v2) == -1
    assert leaning(Evidence(successes=[{"react": "18.2.0"}], failures=[]), v2) == 0
    assert leaning(Evidence(successes=[], failures=[]), v2) == 0


def test_bench_environment_prefers_the_callers_versions() -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-m", "bench.environment", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    report = json.loads(done.stdout)
    assert report["with environment"]["top1"] > report["without environment"]["top1"]
