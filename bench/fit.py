"""Fusions and the relevance model, compared and fitted on stored replays (bench.replay).

    python -m bench.fit fusion      # nDCG@10 per dataset and kind for each fusion variant
    python -m bench.fit pooling     # the same for multi-vector documents (item vectors)
    python -m bench.fit relevance   # fit the relevance model, leave-one-dataset-out figures

Reads bench/.cache/replay-{agentdev,experiences,scifact}.pkl. Everything here is offline
arithmetic on what search saw, through the production fusion and relevance code where a
variant is shipped, so it runs in seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence

import numpy as np

from bench.metrics import mean, ndcg_at
from bench.replay import QueryReplay, Replay, read

SETS = ("agentdev", "experiences", "scifact")
Ranker = Callable[[QueryReplay], list[str]]


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def kinds_of(replay: Replay) -> dict[str, list[QueryReplay]]:
    answerable = [q for q in replay.queries if q.kind != "none"]
    out = {"all": answerable}
    for q in answerable:
        out.setdefault(q.kind, []).append(q)
    return out if len(out) > 2 else {"all": answerable}


def ndcg_table(replays: dict[str, Replay], make: Callable[[Replay], dict[str, Ranker]]) -> None:
    for name, replay in replays.items():
        rankers = make(replay)
        kinds = kinds_of(replay)
        print(f"\n{name}: " + ", ".join(f"{k} {len(v)}" for k, v in kinds.items()))
        print(f"{'variant':<48}" + "".join(f"{k:>12}" for k in kinds))
        for label, ranker in rankers.items():
            cells = "".join(
                f"{mean([ndcg_at(ranker(q), q.grades) for q in qs]):>12.3f}"
                for qs in kinds.values()
            )
            print(f"{label:<48}{cells}")


def markdown_table(replays: dict[str, Replay], make: Callable[[Replay], dict[str, Ranker]]) -> None:
    """One row per variant, nDCG@10 per dataset and query kind (docs/search.md)."""
    columns: list[tuple[str, str]] = []
    values: dict[str, list[float]] = {}
    for name, replay in replays.items():
        rankers = make(replay)
        for kind, qs in kinds_of(replay).items():
            columns.append((name, kind))
            for label, ranker in rankers.items():
                values.setdefault(label, []).append(
                    mean([ndcg_at(ranker(q), q.grades) for q in qs])
                )
    print("| variant | " + " | ".join(f"{n} {k}" for n, k in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for label, cells in values.items():
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")


def load_all(names: Sequence[str] = SETS) -> dict[str, Replay]:
    out = {}
    for name in names:
        try:
            out[name] = read(name)
        except FileNotFoundError:
            print(f"(no replay for {name}: run python -m bench.replay first)", file=sys.stderr)
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.fit", description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["fusion", "pooling", "relevance"])
    p.add_argument("--markdown", action="store_true", help="fusion: one markdown table")
    p.add_argument(
        "--all-weights", action="store_true", help="relevance: every HIT_WEIGHT, not the shipped"
    )
    args = p.parse_args()
    replays = load_all()
    if args.what in ("fusion", "pooling"):
        from bench.fit_fusion import pooling_rankers, rankers

        make = rankers if args.what == "fusion" else pooling_rankers
        (markdown_table if args.markdown else ndcg_table)(replays, make)
    else:
        from bench.fit_relevance import report

        report(replays, all_weights=args.all_weights)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
