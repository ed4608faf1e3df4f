"""Schemathesis against `plurum serve`, authenticated: no 5xx and no response that breaks
its schema over at least 1,000 generated cases (see tests/fuzz.py for the choices)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plurum_backend.store.database import Database
from tests import fuzz, serving

EXAMPLES_PER_OPERATION = 25
SEED = 20_261_128


@pytest.fixture(scope="module")
def server(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serving.Server]:
    served = serving.start(database, tmp_path_factory.mktemp("fuzz"))
    yield served
    served.stop()


def test_schemathesis_no_5xx_no_schema_violations(server: serving.Server, tmp_path: Path) -> None:
    key = fuzz.register(server.base, "fuzzci")
    result = fuzz.run(server.base, key, EXAMPLES_PER_OPERATION, SEED, tmp_path / "report.json")
    print(fuzz.summary(result))
    assert result["test_cases"]["generated"] >= 1000, fuzz.summary(result)
    assert result["failures"] == [] and result["errors"] == [], result["output"]
    assert "Traceback" not in server.log.read_text()
