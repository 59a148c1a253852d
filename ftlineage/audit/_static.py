"""Static token vectors distilled from a sentence-transformers model: the cheap half of semantic dedup.

Every vocabulary token is run once through the model as ``[CLS] token [SEP]`` and its mean output
kept (the ``model2vec`` idea, done with the model we already ship). A text is then the mean of its
tokens' vectors: no transformer at audit time, thousands of rows a second on one core. The table is
built on first use (≈20 s for MiniLM on 2 cores) and cached under the ftlineage cache directory,
keyed by the SHA-256 of the model's weights, so a changed model never reads a stale table.

These vectors only *propose* candidate pairs; every pair that is flagged is verified with the full
model's exact cosine (see ``_semantic_pass``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ftlineage.logging import get_logger

_log = get_logger(__name__)
TABLE_VERSION = 1  # bump when the distillation recipe changes
_BATCH = 2048


def weights_sha(module: Any) -> str:
    """SHA-256 over every parameter of ``module`` (names and bytes, in name order)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode() + b"\0" + tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def distill(transformer: Any, tokenizer: Any) -> np.ndarray:
    """One vector per vocabulary token: the model's mean output over ``[CLS] token [SEP]``."""
    import torch

    vocab = len(tokenizer)
    out = np.zeros((vocab, transformer.config.hidden_size), np.float32)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    with torch.inference_mode():
        for s in range(0, vocab, _BATCH):
            ids = torch.arange(s, min(s + _BATCH, vocab))
            batch = torch.stack([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], 1)
            hidden = transformer(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            out[s : s + len(ids)] = hidden.mean(1).numpy()
    return out


def load_table(transformer: Any, tokenizer: Any, cache_dir: Path) -> tuple[np.ndarray, str]:
    """The token table for ``transformer`` (built and cached on first use) and its weights' SHA."""
    sha = weights_sha(transformer)
    path = cache_dir / "static" / f"{sha}-v{TABLE_VERSION}.npy"
    if path.is_file():
        table = np.load(path)
        if table.shape[0] == len(tokenizer):
            return table.astype(np.float32), sha
    _log.info("distilling static token vectors from the embedding model (once; cached in %s)", path.parent)
    table = distill(transformer, tokenizer)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy")
    with os.fdopen(fd, "wb") as fh:
        np.save(fh, table.astype(np.float16))
    os.replace(tmp, path)
    return table.astype(np.float16).astype(np.float32), sha


@dataclass(frozen=True)
class Projection:
    """Centre, drop the ``drop`` strongest directions (shared by every text), keep ``dim``, normalise."""

    mean: np.ndarray
    basis: np.ndarray  # (dim, hidden)

    @classmethod
    def fit(cls, sample: np.ndarray, *, drop: int = 8, dim: int = 128) -> Projection:
        mean = sample.mean(0)
        if len(sample) < 4 * (drop + 1):  # too few rows to tell shared directions from content
            return cls(mean=np.zeros_like(mean, np.float32), basis=np.eye(sample.shape[1], dtype=np.float32))
        _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)
        return cls(mean=mean.astype(np.float32), basis=vt[drop : drop + dim].astype(np.float32))

    def __call__(self, vecs: np.ndarray) -> np.ndarray:
        out = (vecs - self.mean) @ self.basis.T
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-12
        return out.astype(np.float32)


class StaticEmbedder:
    """Mean of distilled token vectors; raw (unprojected) vectors, see :class:`Projection`."""

    def __init__(self, table: np.ndarray, tokenizer: Any, *, max_tokens: int, sha: str) -> None:
        import torch
        from tokenizers import Tokenizer

        self._table = torch.from_numpy(np.ascontiguousarray(table))
        self._unk, self._max, self.sha = tokenizer.unk_token_id, max_tokens, sha
        # A private copy of the Rust tokenizer: truncation is state on it, and the model shares its own.
        self._tok = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._tok.no_padding()
        self._tok.enable_truncation(max_tokens)

    def raw(self, texts: Sequence[str]) -> np.ndarray:
        """The mean token vector of each text (its first ``max_tokens`` tokens)."""
        return self._bag(self._ids(texts))

    def pair(self, prompts: Sequence[str], completions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Raw vectors of each prompt and of each ``prompt + completion``, tokenizing each text once."""
        p_ids, c_ids = self._ids(prompts), self._ids(completions)
        return self._bag(p_ids), self._bag([(p + c)[: self._max] for p, c in zip(p_ids, c_ids, strict=True)])

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def _bag(self, ids: list[list[int]]) -> np.ndarray:
        import torch

        ids = [x or [self._unk] for x in ids]
        lengths = np.fromiter(map(len, ids), np.int64, len(ids))
        offsets = torch.from_numpy(np.cumsum(lengths) - lengths)
        flat = torch.from_numpy(np.fromiter(itertools.chain.from_iterable(ids), np.int64, int(lengths.sum())))
        return torch.nn.functional.embedding_bag(flat, self._table, offsets, mode="mean").numpy()
