"""Dead-end interception: are the hints right, and what do they cost an entry?

    python -m bench.hints /work/shared/data/agentdev
    python -m bench.hints /work/shared/data/agentdev --extra bench/data/experiences
    python -m bench.hints /work/shared/data/agentdev --latency-only   # also runs on main
    python -m bench.hints /work/shared/data/agentdev --ab 5   # hints on against off

Imports the dataset's experiences (as their own author), then an agent of its own logs every
probe of bench/data/hints/probes.jsonl as an entry through the HTTP API (the real app, in
process). Positive probes are other words for one dataset experience's dead end or gotcha;
negative probes are dead ends nothing in the set covers, most on the same technologies.

Printed, at the served floor and at every floor of a sweep:
- precision@1: of the positive probes that got a hint, the share whose first hint is the
  probe's source experience;
- recall: the share of positive probes whose source experience is among the hints;
- negatives hinted: the share of negative probes given any hint (the target is 0).
The floor is fitted on one half of the probes and measured on the other (both ways), so the
figures set beside the served floor's are not the ones it was chosen on. ``--extra`` imports
a second set as distractors: more dead ends to confuse the match, none of them a probe's
source. Entry latency (POST /sessions/{id}/entries, p50/p99) is printed for entries that get
no hint and entries that do; ``--latency-only`` measures just that, with only the API, so the
same command run against main's code gives the figures from before hints.

``--ab ROUNDS`` measures what hints cost an entry, side by side in one run: each round logs
every probe once with hints on and once with hints off (``PLURUM_HINTS=0``: no embedding, no
lookup), in alternating order, each arm with a new agent and session; entries are never
taken from the query cache (``Embedder.aembed_once``), so every entry pays its embedding as a
new entry does. It also times the embedding alone (the same uncached call) and the lookup
alone on the same texts. Printed per round and
as the median over rounds: the median entry of each arm, and the ratio for the probes that
get no hint (on / off, the same probes); the CPU of the process and of the event loop's
thread alone (the embedding runs on another thread: with a core free for it, the event
loop's CPU is what an entry waits for); the lookup alone for all probes and for those that
get no hint (answered by the in-memory index without PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from bench.instance import fresh_plurum
from plurum_backend.app import create_app
from plurum_backend.importer import import_lines, record_id
from plurum_backend.runtime import Plurum

BASE = "http://testserver/api/v1"
PROBES = Path(__file__).parent / "data" / "hints" / "probes.jsonl"
SWEEP = [round(0.40 + 0.01 * i, 2) for i in range(41)]
PRECISION_TARGET = 0.85
FIND_SECONDS: list[float] = []  # hints.find alone, at the served floor, per probe


@dataclass(frozen=True)
class Probe:
    id: str
    positive: bool
    source: str | None
    entry_type: str
    content: dict[str, Any]


@dataclass
class Logged:
    probe: Probe
    seconds: float
    served: list[str]  # dataset ids of the hints the API answered with
    ranked: list[tuple[str, float]]  # (dataset id, relevance) with no floor, best first


def read_probes(path: Path) -> list[Probe]:
    probes = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                p = json.loads(line)
                probes.append(
                    Probe(
                        p["id"],
                        p["set"] == "positive",
                        p.get("source"),
                        p["entry_type"],
                        p["content"],
                    )
                )
    return probes


def read_lines(root: Path) -> list[str]:
    path = root / "experiences.jsonl"
    if not path.exists():
        raise SystemExit(f"{root} has no experiences.jsonl.")
    with path.open(encoding="utf-8") as f:
        return [line for line in f if line.strip()]


async def short_ids(plurum: Plurum, lines: list[str]) -> dict[str, str]:
    """short_id -> the dataset's id, through the importer's id rule."""
    from sqlalchemy import select

    from plurum_backend.store.models import Experience

    by_uuid: dict[uuid.UUID, str] = {}
    for line in lines:
        raw = json.loads(line).get("id")
        by_uuid[record_id(raw, line)] = str(raw)
    async with plurum.sessions() as db:
        rows = await db.execute(
            select(Experience.id, Experience.short_id).where(Experience.id.in_(list(by_uuid)))
        )
        return {short: by_uuid[i] for i, short in rows.all()}


def percentiles(seconds: list[float]) -> str:
    if not seconds:
        return "n/a"
    ms = sorted(x * 1000 for x in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms (n={len(ms)})"


# -- the figures ----------------------------------------------------------------------------


@dataclass
class Figures:
    precision_at_1: float | None
    recall: float | None
    negatives_hinted: float | None

    def __str__(self) -> str:
        def f(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.3f}"

        return (
            f"precision@1 {f(self.precision_at_1)}  recall {f(self.recall)}  "
            f"negatives hinted {f(self.negatives_hinted)}"
        )


def figures(logged: list[Logged], hints_of: Any) -> Figures:
    positives = [x for x in logged if x.probe.positive]
    negatives = [x for x in logged if not x.probe.positive]
    answered = [x for x in positives if hints_of(x)]
    return Figures(
        precision_at_1=(
            sum(hints_of(x)[0] == x.probe.source for x in answered) / len(answered)
            if answered
            else None
        ),
        recall=(
            sum(x.probe.source in hints_of(x) for x in positives) / len(positives)
            if positives
            else None
        ),
        negatives_hinted=(
            sum(bool(hints_of(x)) for x in negatives) / len(negatives) if negatives else None
        ),
    )


def at_floor(floor: float) -> Any:
    def hints_of(x: Logged) -> list[str]:
        return [d for d, relevance in x.ranked if relevance >= floor]

    return hints_of


def fit_floor(logged: list[Logged]) -> float:
    """The lowest floor of the sweep at which no negative gets a hint and precision@1 meets
    its target (recall only falls as the floor rises)."""
    for floor in SWEEP:
        f = figures(logged, at_floor(floor))
        if f.negatives_hinted == 0 and (f.precision_at_1 or 0) >= PRECISION_TARGET:
            return floor
    return SWEEP[-1]


def halves(logged: list[Logged], seed: int) -> tuple[list[Logged], list[Logged]]:
    """Two halves, each with half of the positives and half of the negatives."""
    rng = random.Random(seed)
    a: list[Logged] = []
    b: list[Logged] = []
    for group in (
        [x for x in logged if x.probe.positive],
        [x for x in logged if not x.probe.positive],
    ):
        shuffled = group[:]
        rng.shuffle(shuffled)
        middle = len(shuffled) // 2
        a += shuffled[:middle]
        b += shuffled[middle:]
    return a, b


# -- the run --------------------------------------------------------------------------------


async def log_probes(
    plurum: Plurum, probes: list[Probe], dataset_of: dict[str, str], evaluate: bool
) -> list[Logged]:
    app = create_app(plurum, manage_lifespan=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        r = await client.post(
            "/agents/register", json={"name": "Hint probe", "username": "hintprobe"}
        )
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
        r = await client.post(
            "/sessions", json={"topic": "Fixing a failing build and deploy"}, headers=headers
        )
        r.raise_for_status()
        session = r.json()["session_id"]
        # warm up the app and the model on one entry not counted
        await client.post(
            f"/sessions/{session}/entries",
            json={"entry_type": "note", "content": {"description": "starting"}},
            headers=headers,
        )
        logged = []
        for n, probe in enumerate(probes, 1):
            body = {"entry_type": probe.entry_type, "content": probe.content}
            started = time.perf_counter()
            r = await client.post(f"/sessions/{session}/entries", json=body, headers=headers)
            seconds = time.perf_counter() - started
            if r.status_code != 201:
                raise SystemExit(f"Logging probe {probe.id} failed: {r.status_code} {r.text}")
            answer = r.json()
            served = [
                dataset_of.get(h["experience"]["short_id"], "?") for h in answer.get("hints", [])
            ]
            ranked = await unfloored(plurum, answer["id"]) if evaluate else []
            logged.append(
                Logged(probe, seconds, served, [(dataset_of.get(s, "?"), v) for s, v in ranked])
            )
            print(f"\rlogged {n}/{len(probes)} probes", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        return logged


async def unfloored(plurum: Plurum, entry_id: str) -> list[tuple[str, float]]:
    """The hints the service would give this entry with no floor: (short_id, relevance)."""
    from sqlalchemy import select

    from plurum_backend.services import hints
    from plurum_backend.store.models import Entry, Session

    async with plurum.transaction() as tx:
        entry = await tx.db.get(Entry, uuid.UUID(entry_id))
        assert entry is not None and entry.embedding is not None
        agent_id = await tx.db.scalar(
            select(Session.agent_id).where(Session.id == entry.session_id)
        )
        assert agent_id is not None
        started = time.perf_counter()
        await hints.find(plurum, tx, list(entry.embedding), agent_id)
        FIND_SECONDS.append(time.perf_counter() - started)
        found = await hints.find(plurum, tx, list(entry.embedding), agent_id, floor=-1.0)
        return [(h.experience.short_id, h.relevance) for h in found]


# -- hints on against hints off -------------------------------------------------------------


async def _new_agent(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await client.post("/agents/register", json={"name": name, "username": name})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


async def _arm(
    plurum: Plurum, client: httpx.AsyncClient, probes: list[Probe], name: str
) -> dict[str, tuple[float, float, bool, float]]:
    """Every probe logged once in a new session: probe id -> (seconds, CPU seconds of this
    process, got a hint, CPU seconds of the event loop's thread). The process's CPU counts
    the app and the model (both run here), not PostgreSQL; it depends far less than wall
    time on what else the machine runs. The event loop's CPU leaves out the embedder's
    thread: on a machine with a core free for the model, it is the entry's own path."""
    headers = await _new_agent(client, name)
    r = await client.post(
        "/sessions", json={"topic": "Fixing a failing build and deploy"}, headers=headers
    )
    r.raise_for_status()
    session = r.json()["session_id"]
    timed: dict[str, tuple[float, float, bool, float]] = {}
    for probe in probes:
        body = {"entry_type": probe.entry_type, "content": probe.content}
        started, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
        r = await client.post(f"/sessions/{session}/entries", json=body, headers=headers)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        loop = time.thread_time() - loop
        if r.status_code != 201:
            raise SystemExit(f"Logging probe {probe.id} failed: {r.status_code} {r.text}")
        timed[probe.id] = (seconds, cpu, bool(r.json()["hints"]), loop)
    return timed


async def _parts(
    plurum: Plurum, probes: list[Probe], viewer: uuid.UUID, quiet: set[str]
) -> tuple[float, float, float, float]:
    """Medians of the embedding alone (seconds, CPU seconds) and of the lookup alone (all
    probes, and the ``quiet`` ones: those that get no hint)."""
    from plurum_backend.services import hints

    embedding: list[float] = []
    embedding_cpu: list[float] = []
    lookup: dict[str, float] = {}
    for probe in probes:
        text = hints.item_text(probe.content)
        started, cpu = time.perf_counter(), time.process_time()
        vector = await plurum.embedder.aembed_once(text)
        embedding.append(time.perf_counter() - started)
        embedding_cpu.append(time.process_time() - cpu)
        async with plurum.transaction() as tx:
            started = time.perf_counter()
            await hints.find(plurum, tx, [float(x) for x in vector], viewer)
            lookup[probe.id] = time.perf_counter() - started
    return (
        statistics.median(embedding),
        statistics.median(embedding_cpu),
        statistics.median(lookup.values()),
        statistics.median(lookup[p] for p in quiet),
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms"


async def ab(plurum: Plurum, probes: list[Probe], rounds: int) -> None:
    app = create_app(plurum, manage_lifespan=False)
    on = replace(plurum.settings, hints=True)
    off = replace(plurum.settings, hints=False)
    columns = [
        "off: all",
        "on: all",
        "no-hint probes, off",
        "no-hint probes, on",
        "on/off",
        "CPU/entry, off",
        "CPU/entry, on (no hint)",
        "loop CPU, off",
        "loop CPU, on (no hint)",
        "embedding alone",
        "its CPU",
        "lookup alone",
        "lookup alone (no hint)",
    ]
    rows: list[list[float]] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        # warm up the app, the model and the pools on entries not counted
        plurum.settings = on
        await _arm(plurum, client, probes[:10], "warmup")
        viewer = uuid.uuid4()
        print("round | " + " | ".join(columns), file=sys.stderr)
        for n in range(rounds):
            order = (True, False) if n % 2 == 0 else (False, True)
            arms: dict[bool, dict[str, tuple[float, float, bool, float]]] = {}
            for enabled in order:
                plurum.settings = on if enabled else off
                arms[enabled] = await _arm(
                    plurum, client, probes, f"ab{n}{'on' if enabled else 'off'}"
                )
            plurum.settings = on
            quiet = [p for p, (_, _, hinted, _) in arms[True].items() if not hinted]
            embedding, embedding_cpu, lookup, lookup_quiet = await _parts(
                plurum, probes, viewer, set(quiet)
            )
            off_quiet = statistics.median(arms[False][p][0] for p in quiet)
            on_quiet = statistics.median(arms[True][p][0] for p in quiet)
            row = [
                statistics.median(t for t, _, _, _ in arms[False].values()),
                statistics.median(t for t, _, _, _ in arms[True].values()),
                off_quiet,
                on_quiet,
                on_quiet / off_quiet,
                statistics.median(arms[False][p][1] for p in quiet),
                statistics.median(arms[True][p][1] for p in quiet),
                statistics.median(arms[False][p][3] for p in quiet),
                statistics.median(arms[True][p][3] for p in quiet),
                embedding,
                embedding_cpu,
                lookup,
                lookup_quiet,
            ]
            rows.append(row)
            print(
                f"{n + 1:5d} | "
                + " | ".join(f"{x:.2f}" if i == 4 else _ms(x) for i, x in enumerate(row))
                + f"   ({len(quiet)} no-hint probes)",
                file=sys.stderr,
            )
    plurum.settings = on

    def mid(i: int) -> float:
        return statistics.median(r[i] for r in rows)

    print(f"\nhints on against off, median of {rounds} rounds' medians ({len(probes)} probes):")
    print(f"  entry, hints off (all probes):       {_ms(mid(0))}")
    print(f"  entry, hints on (all probes):        {_ms(mid(1))}")
    print(f"  no-hint probes, hints off:           {_ms(mid(2))}")
    print(f"  no-hint probes, hints on:            {_ms(mid(3))}  (on/off {mid(4):.2f})")
    print(f"  CPU per no-hint entry, hints off:    {_ms(mid(5))}  (this process: app + model)")
    print(f"  CPU per no-hint entry, hints on:     {_ms(mid(6))}")
    print(
        f"  event-loop CPU per no-hint entry, off: {_ms(mid(7))}  (the embedder's thread left out)"
    )
    print(f"  event-loop CPU per no-hint entry, on:  {_ms(mid(8))}")
    print(f"  the embedding alone (aembed_once):   {_ms(mid(9))}  (CPU {_ms(mid(10))})")
    print(f"  the lookup alone (hints.find):       {_ms(mid(11))}")
    print(f"  ... for the no-hint probes:          {_ms(mid(12))}")


async def run(args: argparse.Namespace) -> None:
    probes = read_probes(args.probes)
    lines = read_lines(args.dataset)
    extra = read_lines(args.extra) if args.extra else []
    async with fresh_plurum() as plurum:
        started = time.perf_counter()
        await import_lines(plurum, lines, total=len(lines), default_agent="dataset")
        if extra:
            await import_lines(plurum, extra, total=len(extra), default_agent="extraset")
        print(
            f"imported {len(lines) + len(extra)} experiences "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        await plurum.hint_index.load()  # as a server's start-up does, in the background
        if args.ab:
            await ab(plurum, probes, args.ab)
            return
        dataset_of = await short_ids(plurum, lines)
        logged = await log_probes(plurum, probes, dataset_of, evaluate=not args.latency_only)

    no_hint = [x.seconds for x in logged if not x.served]
    with_hint = [x.seconds for x in logged if x.served]
    print(f"entry latency, no hint:   {percentiles(no_hint)}")
    print(f"entry latency, with hint: {percentiles(with_hint)}")
    print(f"entry latency, all:       {percentiles([x.seconds for x in logged])}")
    if FIND_SECONDS:
        print(f"hint lookup alone (hints.find): {percentiles(FIND_SECONDS)}")
    if args.latency_only:
        return

    from plurum_backend.services import hints

    positives = sum(p.positive for p in probes)
    print(
        f"\nprobes: {positives} positive over {len({p.source for p in probes if p.positive})} "
        f"experiences, {len(probes) - positives} negative; dataset {args.dataset.name}"
        + (f" + {args.extra.name} as distractors" if args.extra else "")
    )
    print(f"served floor {hints.FLOOR}: {figures(logged, lambda x: x.served)}")
    print("\nsweep (all probes):")
    for floor in SWEEP[::2]:
        print(f"  floor {floor:.2f}: {figures(logged, at_floor(floor))}")
    print(f"\nfitted on all probes: floor {fit_floor(logged):.2f}")
    print("honest split (fit the floor on one half, measure on the other):")
    for seed in range(args.splits):
        a, b = halves(logged, seed)
        for fit, held in ((a, b), (b, a)):
            floor = fit_floor(fit)
            print(f"  seed {seed}: fitted {floor:.2f} -> held-out {figures(held, at_floor(floor))}")
    misses = [x for x in logged if x.probe.positive and x.probe.source not in x.served]
    wrong = [x for x in logged if not x.probe.positive and x.served]
    for x in misses:
        top = x.ranked[0] if x.ranked else ("-", 0.0)
        source = next((v for d, v in x.ranked if d == x.probe.source), None)
        print(
            f"  missed {x.probe.id} ({x.probe.source}): top {top[0]} {top[1]:.3f}, source {source}"
        )
    for x in wrong:
        print(f"  negative {x.probe.id} hinted {x.served} {x.ranked[:1]}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "dataset", type=Path, help="a Plurum-layout dataset dir, e.g. /work/shared/data/agentdev"
    )
    p.add_argument("--probes", type=Path, default=PROBES)
    p.add_argument("--extra", type=Path, help="a second dataset imported as distractors")
    p.add_argument(
        "--splits", type=int, default=3, help="random half splits for the honest figures"
    )
    p.add_argument(
        "--latency-only", action="store_true", help="only entry latency (runs on main too)"
    )
    p.add_argument(
        "--ab",
        type=int,
        metavar="ROUNDS",
        help="entry latency with hints on against off, side by side, in ROUNDS rounds",
    )
    args = p.parse_args()
    try:
        asyncio.run(run(args))
    except OSError as exc:
        raise SystemExit(f"bench.hints: {exc}") from exc


if __name__ == "__main__":
    main()
