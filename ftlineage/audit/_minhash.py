"""Exact keys and vectorised MinHash-LSH over byte shingles.

Signatures use one-permutation hashing: every shingle of the normalized text is hashed once
(64-bit mix, seeded) and the minimum is kept in each of ``num_perm`` bins chosen by the hash's top
bits. This is the MinHash estimator of Li, Owen and Zhang (2012) at one hash per shingle instead of
``num_perm``, which is what makes a million rows a minute's work. LSH cuts the signature into
``bands`` bands; rows that share a band are candidates, and every candidate pair is verified on the
exact shingle sets, so no pair below the threshold is ever reported.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence

import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_EMPTY = np.uint32(0xFFFFFFFF)


def normalize(text: str) -> str:
    """Unicode NFKC, case-fold, collapse whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def digest(norm_text: str) -> bytes:
    """Full SHA-256 of an already normalized text: the exact-duplicate key."""
    return hashlib.sha256(norm_text.encode("utf-8", "surrogatepass")).digest()


def _mix(x: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64 finaliser over uint64 values (wraps by design)."""
    with np.errstate(over="ignore"):
        h = (x ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF)) * _M1
        h ^= h >> np.uint64(30)
        h *= _M2
        h ^= h >> np.uint64(27)
        h *= _M3
        h ^= h >> np.uint64(31)
    return h


def _shingle_hashes(norm_texts: Sequence[str], size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash of every ``size``-byte window of each text, with the text's position in the batch.

    Texts shorter than ``size`` bytes are zero-padded, so each text has at least one shingle.
    """
    raw = [t.encode("utf-8", "surrogatepass").ljust(size, b"\0") for t in norm_texts]
    lens = np.fromiter((len(b) for b in raw), dtype=np.int64, count=len(raw))
    buf = np.frombuffer(b"".join(raw), dtype=np.uint8).astype(np.uint64)
    n = len(buf) - size + 1
    owner = np.repeat(np.arange(len(raw), dtype=np.int64), lens)
    x = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(size):
            x = x * np.uint64(257) + buf[j : j + n]
    inside = owner[:n] == owner[size - 1 :]
    return _mix(x[inside], seed), owner[:n][inside]


def signatures(norm_texts: Sequence[str], *, shingle_size: int, num_perm: int, seed: int) -> np.ndarray:
    """One-permutation MinHash signatures, shape ``(len(texts), num_perm)``, uint32."""
    if num_perm & (num_perm - 1):
        raise ValueError(f"num_perm must be a power of two, got {num_perm}")
    hashes, owner = _shingle_hashes(norm_texts, shingle_size, seed)
    shift = np.uint64(64 - num_perm.bit_length() + 1)
    bins = (hashes >> shift).astype(np.int64)
    out = np.full(len(norm_texts) * num_perm, _EMPTY, dtype=np.uint32)
    np.minimum.at(out, owner * num_perm + bins, (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    return out.reshape(len(norm_texts), num_perm)


def band_keys(sigs: np.ndarray, bands: int) -> np.ndarray:
    """One uint64 key per band per row; 0 marks a band with no shingle in it (never a candidate)."""
    n, k = sigs.shape
    rows = k // bands
    keys = np.zeros((n, bands), dtype=np.uint64)
    for b in range(bands):
        part = sigs[:, b * rows : (b + 1) * rows].astype(np.uint64)
        acc = np.full(n, np.uint64(b + 1), dtype=np.uint64)
        for c in range(rows):
            with np.errstate(over="ignore"):
                acc = _mix(acc * np.uint64(31) + part[:, c], 0)
        empty = (part == np.uint64(_EMPTY)).all(axis=1)
        keys[:, b] = np.where(empty | (acc == 0), np.uint64(0), acc)
    return keys


def shingle_set(norm_text: str, *, shingle_size: int, seed: int) -> np.ndarray:
    """The sorted unique shingle hashes of one normalized text (for exact Jaccard)."""
    hashes, _ = _shingle_hashes([norm_text], shingle_size, seed)
    return np.unique(hashes)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique shingle-hash arrays."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


def candidate_pairs(
    keys: np.ndarray,
    active: np.ndarray,
    sketch: np.ndarray,
    *,
    min_estimate: float,
    full_bucket: int = 32,
    window: int = 4,
) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of active rows sharing a band key, shape ``(m, 2)``.

    Pairs whose 8-bit MinHash ``sketch`` estimates Jaccard below ``min_estimate`` are dropped
    before any text is read (set ``min_estimate`` well under the threshold: at 128 bins the
    estimate's spread at 0.85 is about 0.03). A bucket of up to ``full_bucket`` rows yields all its
    pairs; a larger one pairs each member with the bucket's first eight rows and its ``window``
    neighbours, which keeps a bucket of many copies linear instead of quadratic.
    """
    idx = np.nonzero(active)[0]
    found: list[np.ndarray] = []
    for b in range(keys.shape[1]):
        col = keys[idx, b]
        order = np.argsort(col, kind="stable")
        sorted_keys = col[order]
        same = (sorted_keys[1:] == sorted_keys[:-1]) & (sorted_keys[1:] != 0)
        starts = np.nonzero(np.r_[True, ~same])[0]
        sizes = np.diff(np.r_[starts, len(sorted_keys)])
        members = idx[order]
        for size in np.unique(sizes[(sizes > 1) & (sizes <= full_bucket)]).tolist():
            first = starts[sizes == size]
            a, c = np.triu_indices(size, 1)
            left, right = members[first[:, None] + a], members[first[:, None] + c]
            found.append(np.stack([left.ravel(), right.ravel()], axis=1))
        for s, m in zip(starts[sizes > full_bucket], sizes[sizes > full_bucket], strict=True):
            big = np.sort(members[s : s + m]).tolist()
            found.append(np.array(_bucket_pairs(big, full_bucket, window), dtype=np.int64).reshape(-1, 2))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(found), axis=1)
    pairs = pairs[_estimate(sketch, pairs) >= min_estimate]
    codes = np.unique(pairs[:, 0] * np.int64(len(keys)) + pairs[:, 1])
    return np.stack([codes // len(keys), codes % len(keys)], axis=1)


def _estimate(sketch: np.ndarray, pairs: np.ndarray, step: int = 1 << 18) -> np.ndarray:
    """Jaccard estimated from 8-bit MinHash values (chance agreement 1/256 removed)."""
    out = np.empty(len(pairs), dtype=np.float64)
    for s in range(0, len(pairs), step):
        p = pairs[s : s + step]
        agree = (sketch[p[:, 0]] == sketch[p[:, 1]]).mean(axis=1)
        out[s : s + len(p)] = (agree - 1 / 256) / (1 - 1 / 256)
    return out


def _bucket_pairs(members: list[int], full_bucket: int, window: int) -> list[tuple[int, int]]:
    m = len(members)
    if m <= full_bucket:
        return [(members[a], members[b]) for a in range(m) for b in range(a + 1, m)]
    out = []
    for a in range(m):
        for b in list(range(min(8, a))) + list(range(max(8, a - window), a)):
            out.append((members[b], members[a]))
    return out


class UnionFind:
    """Disjoint sets over ``0..n-1``; the smallest index is each group's root."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, i: int) -> int:
        """The root of ``i``'s group."""
        root = i
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[i] != root:
            self.parent[i], i = root, int(self.parent[i])
        return root

    def union(self, a: int, b: int) -> None:
        """Merge the groups of ``a`` and ``b``."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self, members: Sequence[int]) -> list[list[int]]:
        """Groups (size ≥ 2) among ``members``, each sorted, ordered by their smallest member."""
        out: dict[int, list[int]] = {}
        for i in members:
            out.setdefault(self.find(i), []).append(i)
        return sorted((sorted(g) for g in out.values() if len(g) > 1), key=lambda g: g[0])
