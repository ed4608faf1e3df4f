"""Error signatures: variants of one error share a signature, different errors never do."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from plurum_backend.search.signatures import Signature, normalize_message, signatures
from tests.error_traces import GROUPS

TRACES = [(group, text) for group, texts in GROUPS.items() for text in texts]


def test_the_corpus_is_broad() -> None:
    assert len(TRACES) >= 60
    kinds = {sig.kind for _, text in TRACES for sig in signatures(text)}
    assert {"python", "node", "go", "rust", "java", "postgres", "kubernetes", "shell"} <= kinds


@pytest.mark.parametrize(("group", "text"), TRACES, ids=[g for g, _ in TRACES])
def test_every_trace_has_a_signature(group: str, text: str) -> None:
    assert signatures(text), f"no error found in {group}"


@pytest.mark.parametrize("group", list(GROUPS))
def test_variants_of_one_error_share_a_signature(group: str) -> None:
    found = [signatures(text) for text in GROUPS[group]]
    first = found[0][0]
    for other in found[1:]:
        assert any(first.same_error(sig) for sig in other), (first.label, [s.label for s in other])


def test_different_errors_never_share_a_signature() -> None:
    by_group = {
        group: [sig for t in texts for sig in signatures(t)] for group, texts in GROUPS.items()
    }
    for (a, sigs_a), (b, sigs_b) in itertools.combinations(by_group.items(), 2):
        for x, y in itertools.product(sigs_a, sigs_b):
            assert not x.same_error(y), f"{a} and {b} share {x.label}"
            assert x.id != y.id


def test_volatile_parts_are_replaced() -> None:
    message = normalize_message(
        "at 2026-11-30T10:22:01.123Z pod api-7d9f8b6c5d-x2kqz on db-1.internal.example.com:5432 "
        "(10.0.3.7) id 3f2c9a1e-0b7d-4c55-9f7e-2d1a6b8c4e01 addr 0x7ffd1c2a file "
        "/home/ana/app/main.py:42 version 1.10.9 user ana@example.com"
    )
    for volatile in (
        "2026",
        "x2kqz",
        "example.com",
        "10.0.3.7",
        "3f2c9a1e",
        "0x7ffd",
        "/home",
        "1.10.9",
        "ana@",
    ):
        assert volatile not in message, volatile


def test_frames_tell_errors_apart_only_when_both_sides_show_them() -> None:
    bare = Signature("python", "KeyError", "'id'")
    in_requests = Signature("python", "KeyError", "'id'", ("get", "request"))
    in_pydantic = Signature("python", "KeyError", "'id'", ("validate", "model_validate"))
    assert bare.same_error(in_requests) and bare.same_error(in_pydantic)
    assert not in_requests.same_error(in_pydantic)


def test_library_frames_are_kept_and_the_agents_own_are_not() -> None:
    [sig] = signatures(GROUPS["py-psycopg-connection-refused"][0])
    assert sig.type == "psycopg.OperationalError"
    assert sig.frames == ("connect",)


def test_prose_has_no_signature() -> None:
    assert signatures("The deploy failed twice because the image was too big; I fixed it.") == []
    assert signatures("Use multi-stage builds and pin the base image.") == []


def test_lookup_keys_overlap_exactly_when_errors_are_the_same() -> None:
    from plurum_backend.search.signatures import lookup_keys, stored_keys

    bare = Signature("python", "KeyError", "'id'")
    in_requests = Signature("python", "KeyError", "'id'", ("get", "request"))
    in_pydantic = Signature("python", "KeyError", "'id'", ("validate", "model_validate"))
    other = Signature("python", "KeyError", "'email'")
    for query in (bare, in_requests, in_pydantic, other):
        for stored in (bare, in_requests, in_pydantic, other):
            overlap = set(lookup_keys([query])) & set(stored_keys([stored]))
            assert bool(overlap) == query.same_error(stored), (query, stored)


def test_bench_signatures_runs_on_the_bundled_set() -> None:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bench.signatures", "--dataset", "bench/data/experiences", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    report = json.loads(done.stdout)
    assert report["error_queries"] == 71 and report["target_matched"] >= 20
    assert report["matched"].get("unjudged", 0) <= 2
