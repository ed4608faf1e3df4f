"""Document embeddings cached on disk, keyed by model and text, so benchmark reruns are fast.

The cache is a SQLite file under ``bench/.cache`` (gitignored). It only short-cuts the model
call: what gets embedded is still decided by ``plurum_backend.search.documents``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from plurum_backend.search.embedder import Embedder

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
CHUNK = 256


def _key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


class CachedEmbedder:
    """``embed`` with the same contract as ``Embedder.embed``, answering from disk when it can."""

    def __init__(self, embedder: Embedder, path: Path | None = None) -> None:
        self.embedder = embedder
        self.path = path or CACHE_DIR / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        self.hits = 0
        self.misses = 0

    def _lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = list(keys[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part)
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        # torch keeps the key it always had (existing caches stay valid); other backends make
        # slightly different vectors and are keyed apart
        backend = getattr(self.embedder, "label", "torch")
        model = self.embedder.model_name + ("" if backend == "torch" else f"@{backend}")
        keys = [_key(model, t) for t in texts]
        found = self._lookup(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            bar = tqdm(
                total=len(missing),
                desc="Embedding (not cached yet)",
                unit="doc",
                file=sys.stderr,
                disable=not progress,
            )
            for start in range(0, len(missing), CHUNK):
                part = missing[start : start + CHUNK]
                vectors = self.embedder.embed([text_of[k] for k in part])
                rows = [
                    (k, v.astype(np.float32).tobytes()) for k, v in zip(part, vectors, strict=True)
                ]
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
                self._db.commit()
                found.update(zip(part, vectors, strict=True))
                bar.update(len(part))
            bar.close()
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def close(self) -> None:
        self._db.close()
