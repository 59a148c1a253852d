"""Candidate pairs above a cosine among unit vectors: exact for small sets, inverted lists for large.

Up to ``exact_max`` rows (20,000) every pair is scored (blocked matrix products). Above it the vectors are
clustered (seeded k-means on a sample, ``4·√n`` lists) and each row is compared only with the
members of its ``probes`` nearest lists, as in faiss's IVF-Flat; near neighbours (cosine ≥ 0.7)
share a list almost always, and ``benchmarks/audit_bench.py`` reports the recall against exact
search. Each row keeps at most ``per_row`` partners, so a corpus of templates cannot explode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

EXACT_MAX = 20_000
_BLOCK = 2048


def candidate_pairs(
    vecs: np.ndarray,
    threshold: float,
    *,
    seed: int,
    per_row: int = 8,
    exact_max: int = EXACT_MAX,
    probes: int = 6,
) -> dict[tuple[int, int], float]:
    """Pairs ``(i, j)``, ``i < j``, whose cosine is ≥ ``threshold``, with that cosine."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(vecs, dtype=np.float32))
    if len(x) <= exact_max:
        return _scan(x, torch.arange(len(x)), torch.arange(len(x)), threshold, per_row)
    centroids = _kmeans(x, int(4 * len(x) ** 0.5), seed)
    probe = _nearest(x, centroids, probes)  # sorted: the first is the row's own list
    members = _lists(probe[:, 0].contiguous(), len(centroids))
    queries = _lists(probe.flatten(), len(centroids), owners=torch.arange(len(x)).repeat_interleave(probes))
    out: dict[tuple[int, int], float] = {}
    for keys, asking in zip(members, queries, strict=True):
        if len(keys) and len(asking):
            out.update(_scan(x, asking, keys, threshold, per_row))
    return out


def _scan(
    x: torch.Tensor, queries: torch.Tensor, keys: torch.Tensor, threshold: float, per_row: int
) -> dict[tuple[int, int], float]:
    import torch

    out: dict[tuple[int, int], float] = {}
    k = min(per_row, len(keys))
    key_vecs = x[keys]
    for s in range(0, len(queries), _BLOCK):
        q = queries[s : s + _BLOCK]
        sims = x[q] @ key_vecs.T
        sims[q[:, None] == keys[None, :]] = -1.0
        best, arg = sims.topk(k, dim=1)
        rows, cols = torch.nonzero(best >= threshold, as_tuple=True)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i, j = int(q[r]), int(keys[arg[r, c]])
            out[(min(i, j), max(i, j))] = float(best[r, c])
    return out


def _lists(label: torch.Tensor, k: int, owners: torch.Tensor | None = None) -> list[torch.Tensor]:
    """For each of ``k`` lists, the owners (default: positions) of the entries labelled with it."""
    import torch

    order = torch.argsort(label, stable=True)
    bounds = torch.searchsorted(label[order], torch.arange(k + 1)).tolist()
    ids = order if owners is None else owners[order]
    return [ids[bounds[c] : bounds[c + 1]] for c in range(k)]


def _nearest(x: torch.Tensor, centroids: torch.Tensor, k: int) -> torch.Tensor:
    import torch

    return torch.cat(
        [(x[s : s + 65536] @ centroids.T).topk(k, dim=1).indices for s in range(0, len(x), 65536)]
    )


def _kmeans(x: torch.Tensor, k: int, seed: int, *, sample: int = 65536, iters: int = 8) -> torch.Tensor:
    """Spherical k-means on a seeded sample; returns unit centroids."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    data = x[torch.randperm(len(x), generator=gen)[: max(sample, k)]]
    centroids = data[torch.randperm(len(data), generator=gen)[:k]].clone()
    for _ in range(iters):
        assign = (data @ centroids.T).argmax(1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, data)
        empty = sums.norm(dim=1) == 0
        sums[empty] = centroids[empty]
        centroids = sums / sums.norm(dim=1, keepdim=True)
    return centroids
