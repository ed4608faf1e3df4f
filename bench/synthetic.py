"""Realistic synthetic experiences for load tests, with vectors that cost no model time.

Each experience is assembled from a fixed inventory of phrases (a problem, a stack, a fix, a
pitfall, log lines, code) with random versions, hosts and numbers, so 100,000 of them differ in
wording, length and fields the way agents' notes do. Its vector is the normalized weighted mean
of the *real* MiniLM embeddings of the phrases it was built from plus a little Gaussian noise:
the model runs once per phrase (102 of them, cached on disk), not once per experience.
Neighbourhoods therefore look like real ones (same problem, other stack = close; unrelated =
far), which is what HNSW's speed and recall depend on.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from plurum_backend.search.documents import embedding_text
from plurum_backend.store.models import Experience

STACKS = [
    ("FastAPI", "python"),
    ("Django", "python"),
    ("Flask", "python"),
    ("Celery", "python"),
    ("Express", "node"),
    ("Next.js", "node"),
    ("NestJS", "node"),
    ("Spring Boot", "java"),
    ("Go net/http", "go"),
    ("Actix", "rust"),
    ("Rails", "ruby"),
    ("Laravel", "php"),
]
PLATFORMS = [
    "Kubernetes",
    "EKS",
    "GKE",
    "ECS Fargate",
    "Fly.io",
    "Docker Compose",
    "systemd",
    "Heroku",
    "Cloud Run",
    "AWS Lambda",
    "Nomad",
    "bare metal VMs",
]
PROBLEMS = [
    ("pods restart with OOMKilled", "memory", "Reason: OOMKilled, Exit Code: 137"),
    ("connections to PostgreSQL are exhausted", "postgres", "FATAL: too many clients already"),
    (
        "TLS handshakes fail with an unknown authority",
        "tls",
        "x509: certificate signed by unknown authority",
    ),
    ("the health check path returns 404", "deploy", "Target.ResponseCodeMismatch: 404"),
    ("migrations hang behind a lock", "migrations", "canceling statement due to lock timeout"),
    ("requests time out behind the load balancer", "networking", "504 Gateway Time-out"),
    ("CORS preflight requests are rejected", "cors", "No 'Access-Control-Allow-Origin' header"),
    ("OAuth callbacks fail with a redirect mismatch", "oauth", "redirect_uri_mismatch"),
    (
        "JWT validation rejects fresh tokens",
        "jwt",
        "ImmatureSignatureError: The token is not yet valid",
    ),
    ("the build runs out of heap", "build", "FATAL ERROR: Reached heap limit Allocation failed"),
    ("native modules fail to load after an upgrade", "build", "NODE_MODULE_VERSION mismatch"),
    ("tests flake with a closed event loop", "tests", "RuntimeError: Event loop is closed"),
    ("DNS lookups fail inside containers", "dns", "Temporary failure in name resolution"),
    ("Redis refuses writes", "redis", "MISCONF Redis is configured to save RDB snapshots"),
    (
        "SQLite reports the database is locked",
        "sqlite",
        "sqlite3.OperationalError: database is locked",
    ),
    ("the LLM API returns rate limit errors", "llm", "429 Too Many Requests: rate_limit_exceeded"),
    ("prompts exceed the context window", "llm", "maximum context length is 8192 tokens"),
    (
        "tool calls are rejected by the model API",
        "agents",
        "tool_use ids were found without tool_result",
    ),
    ("websocket connections drop after a minute", "websocket", "1006 abnormal closure"),
    (
        "image pulls fail from the private registry",
        "docker",
        "CannotPullContainerError: pull access denied",
    ),
    (
        "the container exits with exec format error",
        "docker",
        "exec /app/start.sh: exec format error",
    ),
    ("vector search ignores the index", "pgvector", "Seq Scan on items"),
    ("gRPC calls fail with unavailable", "grpc", "code = Unavailable desc = connection closed"),
    ("uploads above one megabyte are rejected", "nginx", "413 Request Entity Too Large"),
]
FIXES = [
    "raise the memory limit and recycle workers after {n} tasks",
    "put PgBouncer in transaction mode with a pool of {n}",
    "install ca-certificates in the runtime image",
    "point the health check at /healthz and allow {n}s of start-up grace",
    "set lock_timeout to {n}s and retry the migration",
    "raise the idle timeout to {n}s on both the proxy and the app",
    "answer OPTIONS with the allowed origin list instead of a wildcard",
    "build the redirect URI from X-Forwarded-Proto",
    "allow {n}s of clock skew when validating iat and nbf",
    "set NODE_OPTIONS=--max-old-space-size={n}",
    "rebuild native modules in CI for the runtime's ABI",
    "create the async client inside the fixture, per event loop",
    "set explicit DNS servers in the daemon configuration",
    "fix the data directory permissions and free disk space",
    "enable WAL mode with busy_timeout={n}",
    "back off exponentially with jitter and cap concurrency at {n}",
    "summarize old turns and keep the last {n} messages",
    "send one tool_result block per tool_use id in the next message",
    "send pings every {n}s from the server",
    "build multi-arch images with buildx for linux/amd64",
    "match the operator class of the HNSW index in the query",
    "enable keepalive pings on the gRPC channel",
    "raise client_max_body_size to {n}m",
]
DEAD_ENDS = [
    ("added more logging", "the process was killed before it could log"),
    ("restarted the service", "the problem came back within minutes"),
    ("upgraded every dependency", "it changed nothing and broke two other things"),
    ("doubled the instance size", "it only delayed the failure"),
    ("disabled the check entirely", "it hid the symptom, not the cause"),
    ("pinned an older base image", "the old image had known CVEs"),
    ("retried on every error", "retries amplified the load"),
]
GOTCHAS = [
    ("the setting is silently ignored unless set on {platform}", "verify the applied config"),
    ("the default changed in version {v}", "pin the version explicitly"),
    ("environment variables are read only at start-up", "restart after changing them"),
    ("the error only appears under load", "reproduce with a load test"),
    ("logs are buffered, so the last lines are missing", "run with unbuffered output"),
]
CODE = [
    ("bash", "kubectl describe pod {host} | grep -A3 'Last State'"),
    ("yaml", "resources:\n  requests:\n    memory: {n}Mi\n  limits:\n    memory: {n}Mi"),
    ("python", "engine = create_async_engine(url, pool_size={n}, pool_pre_ping=True)"),
    ("sql", "SET lock_timeout = '{n}s';\nALTER TABLE events ADD COLUMN tenant_id bigint;"),
    (
        "dockerfile",
        "FROM python:3.{v}-slim\nRUN apt-get update && apt-get install -y ca-certificates",
    ),
    ("nginx", "client_max_body_size {n}m;\nproxy_read_timeout {n}s;"),
    ("json", '{{"max_tokens": {n}, "tool_choice": "auto"}}'),
]
TASKS = [
    "Deploy a {stack} service to {platform}",
    "Keep a {stack} app on {platform} stable under load",
    "Migrate a {stack} project to {platform}",
    "Fix {problem} for a {stack} app on {platform}",
]
SENTENCES = [
    "It runs {stack} {v}.{n2} on {platform}.",
    "The incident started after the deploy of release {v}.{n2}.",
    "Traffic is about {n} requests per second at peak.",
    "The team is small and nobody owns the infrastructure full time.",
    "Staging never showed the problem; production did within hours.",
    "Dashboards showed latency climbing before each failure.",
    "The first report came from a customer, not from alerting.",
]


SECTIONS: dict[str, list[str]] = {
    "problem": [p for p, _, _ in PROBLEMS],
    "error": [e for _, _, e in PROBLEMS],
    "fix": [f.format(n="N") for f in FIXES],
    "dead_end": [f"{d}; {r}" for d, r in DEAD_ENDS],
    "stack": [f"{s} application" for s, _ in STACKS],
    "platform": [f"running on {p}" for p in PLATFORMS],
}
OFFSETS = dict(zip(SECTIONS, np.cumsum([0] + [len(v) for v in SECTIONS.values()]), strict=False))
PHRASES = [phrase for phrases in SECTIONS.values() for phrase in phrases]


def _at(section: str, index: int) -> int:
    return int(OFFSETS[section]) + index


@dataclass(frozen=True)
class Parts:
    weights: tuple[tuple[int, float], ...]  # phrase index -> weight
    seed: int


class SyntheticCorpus:
    """Records and their vectors; ``embed`` answers the importer for the texts it generated."""

    def __init__(self, phrase_vectors: np.ndarray, seed: int = 7, private_share: float = 0.1):
        self.phrase_vectors = phrase_vectors
        self.seed = seed
        self.private_share = private_share
        self._parts: dict[str, Parts] = {}

    def records(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        for i in range(start, stop):
            record, parts = self._record(i)
            self._parts[_key(embedding_text(transient(record)))] = parts
            yield record

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            key = _key(text)
            if key not in self._parts:
                # an item's text (a dead end or gotcha, for entry hints): search never reads
                # those vectors, so a fixed random direction per text is enough
                item = np.random.default_rng(int(key[:8], 16)).normal(
                    size=self.phrase_vectors.shape[1]
                )
                rows.append((item / np.linalg.norm(item)).astype(np.float32))
                continue
            parts = self._parts.pop(key)
            rng = np.random.default_rng(parts.seed)
            v = sum(w * self.phrase_vectors[p] for p, w in parts.weights)
            v = np.asarray(v, dtype=np.float32) + rng.normal(0, 0.015, v.shape).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows).astype(np.float32)

    def _record(self, i: int) -> tuple[dict[str, Any], Parts]:
        rng = random.Random(self.seed * 1_000_003 + i)
        p = rng.randrange(len(PROBLEMS))
        problem, tag, error = PROBLEMS[p]
        stack, lang = rng.choice(STACKS)
        platform = rng.choice(PLATFORMS)
        v, n, n2 = (
            rng.randint(1, 20),
            rng.choice([2, 5, 10, 30, 64, 256, 512, 1024]),
            rng.randint(0, 9),
        )
        host = f"{stack.split()[0].lower()}-{rng.getrandbits(24):06x}"
        fill = {"stack": stack, "platform": platform, "v": v, "n": n, "n2": n2, "problem": problem}
        fix = rng.randrange(len(FIXES))
        dead = rng.sample(range(len(DEAD_ENDS)), rng.randint(0, 3))
        gotcha = rng.sample(range(len(GOTCHAS)), rng.randint(0, 2))
        code = rng.sample(range(len(CODE)), rng.randint(0, 2))
        context = " ".join(s.format(**fill) for s in rng.sample(SENTENCES, rng.randint(1, 5)))
        record = {
            "id": f"syn-{i}",
            "goal": rng.choice(TASKS).format(**fill)
            + (f" ({problem})" if rng.random() < 0.5 else ""),
            "context": f"{context} Symptom: {error} on {host}.",
            "dead_ends": [
                {"description": DEAD_ENDS[d][0], "reason": DEAD_ENDS[d][1]} for d in dead
            ],
            "breakthroughs": [
                {"description": FIXES[fix].format(n=n).capitalize(), "impact": f"{problem} stopped"}
            ],
            "gotchas": [
                {
                    "description": GOTCHAS[g][0].format(platform=platform, v=v),
                    "workaround": GOTCHAS[g][1],
                }
                for g in gotcha
            ],
            "artifacts": [
                {"language": CODE[c][0], "code": CODE[c][1].format(n=n, v=v, host=host)}
                for c in code
            ],
            "tags": sorted({tag, lang, platform.lower().replace(" ", "-")}),
            "visibility": "private" if rng.random() < self.private_share else "public",
            "author": {"username": f"agent{rng.randrange(50):02d}"},
        }
        weights = [
            (_at("problem", p), 1.0),
            (_at("error", p), 0.4),
            (_at("fix", fix), 0.6),
            (_at("stack", STACKS.index((stack, lang))), 0.3),
            (_at("platform", PLATFORMS.index(platform)), 0.3),
            *((_at("dead_end", d), 0.2) for d in dead),
        ]
        return record, Parts(tuple(weights), rng.getrandbits(32))

    def queries(self, count: int, seed: int) -> list[str]:
        """Task descriptions, pasted errors and symptoms in other words, mixed."""
        rng = random.Random(seed)
        out = []
        for _ in range(count):
            problem, _, error = rng.choice(PROBLEMS)
            stack, _ = rng.choice(STACKS)
            platform = rng.choice(PLATFORMS)
            kind = rng.randrange(3)
            if kind == 0:
                out.append(f"{stack} on {platform}: {problem}")
            elif kind == 1:
                out.append(f"{error} ({stack.lower()}-{rng.getrandbits(16):04x})")
            else:
                out.append(
                    f"after moving to {platform} our {stack} service keeps failing, {problem}"
                )
        return out


def transient(record: dict[str, Any]) -> Experience:
    """The Experience the importer will build, just enough for ``embedding_text``."""
    from plurum_backend.importer import Record, experience_of, record_id
    from plurum_backend.services.scrub import Scrub

    parsed = Record.model_validate(record)
    return experience_of(parsed, record_id(parsed.id, ""), 0, Scrub())


def _key(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
