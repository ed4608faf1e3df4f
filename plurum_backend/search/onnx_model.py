"""all-MiniLM-L6-v2 (or another local BERT-style model) run by ONNX Runtime.

The ONNX file is exported once from the local sentence-transformers weights with
``torch.onnx`` into the model directory (``PLURUM_MODEL_DIR``, by default ``models/`` in the
data directory), optionally quantised to dynamic int8, and loaded from there on every later
start, so a warm start imports neither torch nor transformers. The export is written to a
temporary name and renamed, so a start killed mid-export leaves nothing half-written.

Pooling is what the sentence-transformers model does (``1_Pooling``: the mean of the token
vectors under the attention mask, then ``2_Normalize``: unit length); the tokenizer is the
model's own fast tokenizer, truncated at its ``max_seq_length``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from plurum_backend.errors import ConfigError

# Bump when a backend's export or quantisation recipe changes: it names the export file, so
# an old export is never loaded by mistake. Recipe 3: the residual Add and LayerNormalization
# stay two standard ops (ONNX Runtime's fused SkipLayerNormalization kernel is 5x slower on
# this CPU), and int8 also quantises the fused attention's Q/K/V projection (QAttention).
FILE_RECIPE = {"onnx": 3, "onnx-int8": 3}
# The part of the recipe that decides the vectors, per backend: what the database records as
# the maker of its vectors. The fp32 graphs of recipes 2 and 3 compute what recipe 1's did (cosine
# 1.0000 to torch either way), so a database embedded by `onnx/r1` needs no re-embedding;
# each int8 recipe quantises a different graph and makes (slightly) different vectors.
VECTOR_RECIPE = {"onnx": 1, "onnx-int8": 3}
BATCH_SIZE = 32
# ONNX Runtime's own graph optimisations, left out when a session loads: SkipLayerNormFusion
# would put back the SkipLayerNormalization kernel the export avoids (one 256x384 call: 0.47
# ms against 0.09 ms for Add + LayerNormalization, ORT 1.32 on one thread; a fifth of int8's
# time on a 256-token text).
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_path(model_dir: Path, model_name: str, backend: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_") or "model"
    return model_dir / f"{slug}-{backend}-r{FILE_RECIPE[backend]}.onnx"


def export(source: str, target: Path, quantize: bool) -> None:
    """Export the weights in ``source`` to ``target`` (fp32, or dynamic int8 if ``quantize``).

    Three steps, each measured (docs/performance.md, Embedding backends):
    - the encoder is traced with eager attention: the SDPA path's graph guards its softmax
      against NaN rows (``IsNaN`` + ``Where`` on every attention matrix), a third of ONNX
      Runtime's time on a 256-token text, for rows that a real mask never has;
    - ONNX Runtime's BERT fusions then replace each layer's attention by one ``Attention``
      kernel, and fuse the embeddings and GELUs (same vectors: cosine 1.0000); the residual
      Add + LayerNormalization pairs are left unfused (``SkipLayerNormalization`` is slower);
    - int8 quantises the weight matrices of every MatMul and of each fused attention's Q/K/V
      projection (``QAttention``), one scale per output channel (the embeddings, attention
      scores and softmax stay fp32). One scale per matrix, ONNX Runtime's default, left
      SciFact abstracts at cosine 0.90 to torch fp32 (min 0.79).
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source, attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        """The encoder's last hidden state, with inputs passed by name (the ONNX graph's)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    texts = ["an example", "a second, longer example"]
    sample = tokenizer(texts, padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        traced = Path(tmp) / "traced.onnx"
        with torch.no_grad():
            torch.onnx.export(
                Hidden().eval(),
                tuple(sample[name] for name in INPUTS),
                str(traced),
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        made = _fused(traced, Path(tmp) / "fused.onnx", model.config)
        if quantize:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = Path(tmp) / "model-int8.onnx"
            quantize_dynamic(
                str(made),
                str(quantized),
                weight_type=QuantType.QInt8,
                per_channel=True,
                # "Attention": the fused op's Q/K/V projection (a third of the weights) runs
                # in int8 as QAttention; its scores and softmax stay fp32
                op_types_to_quantize=["MatMul", "Attention"],
                # the fused kernels are ONNX Runtime's own ops: their outputs are fp32
                extra_options={
                    "MatMulConstBOnly": True,
                    "DefaultTensorType": onnx.TensorProto.FLOAT,
                },
            )
            made = quantized
        os.replace(made, target)


def _fused(traced: Path, fused: Path, config: Any) -> Path:
    """The graph with ONNX Runtime's BERT fusions, or as traced if this model has no BERT
    attention to fuse (another architecture named by PLURUM_EMBEDDING_MODEL)."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    heads = int(getattr(config, "num_attention_heads", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    if not heads or not hidden:
        return traced
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False  # see DISABLED_OPTIMIZERS
    model = optimizer.optimize_model(
        str(traced),
        model_type="bert",
        num_heads=heads,
        hidden_size=hidden,
        opt_level=0,
        optimization_options=options,
    )
    if not model.get_fused_operator_statistics().get("Attention"):
        return traced
    model.save_model_to_file(str(fused))
    return fused


def _max_tokens(source: Path) -> int:
    config = source / "sentence_bert_config.json"
    if config.exists():
        value = json.loads(config.read_text()).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    return 256


class OnnxEncoder:
    """Tokenise, run the graph, mean-pool and normalise; one session per thread count.

    A quantised graph runs each text alone: dynamic int8 scales the activations by the
    range of the whole input tensor, so in a batch a text's vector would depend on the texts
    (and padding) beside it, and the same query or document would embed differently under
    load (cosine 0.98-0.99 between the two). Alone, a text always gets the same vector.
    """

    def __init__(self, source: str, model_file: Path, quantized: bool = False) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        root = Path(source)
        if not (root / "tokenizer.json").exists():
            raise ConfigError(
                f"The ONNX backends need a local model directory with tokenizer.json; "
                f"{source!r} has none (use PLURUM_EMBEDDING_BACKEND=torch)."
            )
        self._tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self._tokenizer.enable_truncation(_max_tokens(root))
        self._tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        self._ort = onnxruntime
        self._file = model_file
        self._sessions: dict[int, Any] = {}
        self._workers: tuple[int, ThreadPoolExecutor] | None = None
        self.batch_size = 1 if quantized else BATCH_SIZE
        self.dimension = int(self._session(1).get_outputs()[0].shape[-1] or 0) or self._probe()

    def _session(self, threads: int) -> Any:
        session = self._sessions.get(threads)
        if session is None:
            options = self._ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # idle pool threads sleep instead of spinning: on two cores the spin would take
            # CPU from the event loop and PostgreSQL between model calls
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = self._ort.InferenceSession(
                str(self._file),
                options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=DISABLED_OPTIMIZERS,
            )
            self._sessions[threads] = session
        return session

    def _probe(self) -> int:
        return int(self.encode(["probe"], 1).shape[1])

    def encode(self, texts: list[str], threads: int) -> np.ndarray:
        """Unit-length vectors, one row per text; texts of similar length share a batch.

        A quantised graph with several threads and texts: the texts are dealt to ``threads``
        workers that each run one text at a time on a one-thread session. One text's small
        operators do not keep two cores busy (each synchronises the pool twice); two texts
        at once do: 110 against 75 documents/s on two idle cores (docs/search.md, "Recipe
        3"). Every text still runs alone, so its vector is the same either way."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        if threads > 1 and self.batch_size == 1 and len(texts) > 1:
            session = self._session(1)
            shards = [order[k::threads] for k in range(threads)]
            done = self._pool(threads).map(lambda rows: self._run(rows, encodings, session), shards)
            parts = [part for shard in done for part in shard]
        else:
            parts = self._run(order, encodings, self._session(threads))
        out = np.zeros((len(texts), parts[0][1].shape[1]), dtype=np.float32)
        for rows, vectors in parts:
            out[rows] = vectors
        return out

    def _run(
        self, order: list[int], encodings: list[Any], session: Any
    ) -> list[tuple[list[int], np.ndarray]]:
        """The texts at ``order``, embedded: (their rows, their vectors) per model call."""
        parts: list[tuple[list[int], np.ndarray]] = []
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feed)[0]
            weights = mask[..., None].astype(np.float32)
            summed = (hidden * weights).sum(axis=1)
            pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            parts.append((rows, pooled / np.clip(norms, 1e-12, None)))
        return parts

    def _pool(self, threads: int) -> ThreadPoolExecutor:
        if self._workers is None or self._workers[0] != threads:
            self._workers = (threads, ThreadPoolExecutor(threads, initializer=_name_worker))
        return self._workers[1]


def _name_worker() -> None:
    # the model's CPU shows under the embedder's thread name (bench/load.py reads it); the
    # import is here because embedder.py imports this module
    from plurum_backend.search.embedder import THREAD_NAME, _name_thread

    _name_thread(THREAD_NAME)


def ensure_exported(source: str, model_dir: Path, model_name: str, backend: str) -> Path:
    """The backend's ONNX file, exported now if this model directory has none yet."""
    target = onnx_path(model_dir, model_name, backend)
    if target.exists():
        return target
    print(
        f"Exporting the embedding model to ONNX ({backend}) in {model_dir}; once only…",
        file=sys.stderr,
        flush=True,
    )
    try:
        with warnings.catch_warnings():  # the tracer's advice is about other models' code
            warnings.simplefilter("ignore")
            quiet = logging.getLogger()
            level = quiet.level
            quiet.setLevel(logging.ERROR)  # the quantiser logs a pre-processing hint
            try:
                export(source, target, quantize=backend == "onnx-int8")
            finally:
                quiet.setLevel(level)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"Exporting {model_name!r} to ONNX failed ({exc.__class__.__name__}: {exc})."
        ) from exc
    return target
