"""The real MiniLM embedder: shapes, the query cache, and queries batched together."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from plurum_backend.config import DEFAULT_MODEL
from plurum_backend.search.embedder import _model_path, shared_embedder
from plurum_backend.search.onnx_model import onnx_path
from tests.conftest import MODEL_DIR


def test_embeddings_are_unit_length_and_queries_match_documents() -> None:
    embedder = shared_embedder()
    docs = embedder.embed(["Fix ERR_OSSL_EVP_UNSUPPORTED on Node 17", "Deploy to ECS Fargate"])
    assert docs.shape == (2, embedder.dimension) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("Fix ERR_OSSL_EVP_UNSUPPORTED on Node 17")
    assert np.allclose(query, docs[0], atol=1e-5)
    assert embedder.cached("Fix ERR_OSSL_EVP_UNSUPPORTED on Node 17") is not None


async def test_concurrent_queries_get_their_own_vectors() -> None:
    embedder = shared_embedder()
    texts = [f"postgres connection refused on port {5430 + i}" for i in range(12)]
    together = await asyncio.gather(*(embedder.aembed_query(t) for t in texts))
    alone = embedder.embed(texts)
    for i, vector in enumerate(together):
        assert np.allclose(vector, alone[i], atol=1e-5)


async def test_documents_written_while_the_model_is_busy_share_one_call() -> None:
    embedder = shared_embedder()
    before = embedder.calls
    busy = asyncio.ensure_future(embedder.aembed(["a long import batch " * 40] * 48))
    while embedder.calls == before:  # until the batch is in the model
        await asyncio.sleep(0.001)
    calls = embedder.calls
    texts = [f"Tune gunicorn workers for service {i}" for i in range(12)]
    together = await asyncio.gather(*(embedder.aembed_document(t) for t in texts))
    await busy
    assert embedder.calls - calls == 1  # the twelve waited for the batch, then went together
    for text, vector in zip(texts, together, strict=True):
        assert float(np.dot(vector, embedder.embed([text])[0])) > 0.9999


LONG = (
    "The connection pool of the API server ran out under load because every request opened a "
    "transaction before authenticating, held it while waiting for the rate limiter, and only "
    "released it after rendering the response. "
) * 6  # well past the model's 256 word pieces: truncated as sentence-transformers does


def test_onnx_backends_make_torch_s_vectors() -> None:
    """The exported graphs (eager attention, ONNX Runtime's fusions, int8 per channel) give
    what sentence-transformers on torch gives, alone or in a batch of uneven lengths."""
    texts = [LONG, "pip install hangs on a private index", "Deploy to ECS Fargate", "x"]
    reference = shared_embedder(backend="torch", model_dir=MODEL_DIR).embed(texts)
    fp32 = shared_embedder(backend="onnx", model_dir=MODEL_DIR)
    int8 = shared_embedder(backend="onnx-int8", model_dir=MODEL_DIR)
    batch = fp32.embed(texts)
    assert np.min(np.sum(batch * reference, axis=1)) > 0.9999
    for i, text in enumerate(texts):
        assert np.allclose(fp32.embed([text])[0], batch[i], atol=1e-5)
    quantized = int8.embed(texts)
    cosines = np.sum(quantized * reference, axis=1)
    assert np.min(cosines[:3]) > 0.99
    # a one-character text is int8's worst case (its few tokens set the activations' scale):
    # 0.987 with recipe 3 (0.99+ with recipe 2); still within the 0.98 issue 13 allows
    assert cosines[3] > 0.98
    # each text runs alone: its vector does not depend on the texts beside it
    assert np.array_equal(int8.embed([texts[1]])[0], quantized[1])


def test_int8_export_quantises_the_attention_projection_too() -> None:
    """Recipe 3: every layer's fused attention runs its Q/K/V projection in int8
    (QAttention), and every other weight MatMul is quantised; fp32 keeps plain Attention.
    Neither graph has ONNX Runtime's slow SkipLayerNormalization, in the file or as loaded."""
    import onnx
    import onnxruntime

    from plurum_backend.search.onnx_model import DISABLED_OPTIMIZERS, ensure_exported

    source = _model_path(DEFAULT_MODEL)
    ops = {
        backend: Counter(
            node.op_type
            for node in onnx.load(
                ensure_exported(source, MODEL_DIR, DEFAULT_MODEL, backend), load_external_data=False
            ).graph.node
        )
        for backend in ("onnx", "onnx-int8")
    }
    assert ops["onnx"]["Attention"] == 6 and ops["onnx"]["QAttention"] == 0
    assert ops["onnx-int8"]["QAttention"] == 6 and ops["onnx-int8"]["Attention"] == 0
    assert ops["onnx-int8"]["MatMul"] == 0  # every weight MatMul is an integer one
    assert onnx_path(MODEL_DIR, DEFAULT_MODEL, "onnx-int8").name.endswith("-onnx-int8-r3.onnx")
    for backend, counted in ops.items():
        assert counted["SkipLayerNormalization"] == 0 and counted["LayerNormalization"] == 12
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        with tempfile.TemporaryDirectory() as tmp:
            options.optimized_model_filepath = str(Path(tmp) / "loaded.onnx")
            onnxruntime.InferenceSession(
                str(onnx_path(MODEL_DIR, DEFAULT_MODEL, backend)),
                options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=DISABLED_OPTIMIZERS,
            )
            loaded = onnx.load(options.optimized_model_filepath, load_external_data=False)
        assert all(node.op_type != "SkipLayerNormalization" for node in loaded.graph.node)


def test_int8_batches_dealt_over_threads_keep_each_text_s_vector_and_row() -> None:
    """A batch on several threads runs its texts on one-thread sessions side by side: every
    row must be the vector that text gets alone, in the caller's order."""
    model = shared_embedder(backend="onnx-int8", model_dir=MODEL_DIR)._model
    texts = [
        f"{word} failed while building the wheel for psycopg" * n
        for n, word in enumerate(["pip", "uv", "poetry", "conda", "hatch", "pdm", "rye"], start=1)
    ]
    alone = np.stack([model.encode([t], 1)[0] for t in texts])
    for threads in (2, 3):
        assert np.array_equal(model.encode(texts, threads), alone)
    assert model.encode([], 2).shape == (0, alone.shape[1])
