"""Group failed cases into clusters and name them (pure, given an embedder).

A failure is *what failed* and *how it reads*. Cases are first split by their signature (the
stage and the exact set of checks they fail), so a broken JSON answer and a hallucinated field
on the same transcript never share a group. Inside each signature, the MiniLM embeddings of
input and output are clustered with HDBSCAN (scikit-learn's), which splits two kinds of
over-refusal apart; sub-clusters whose centroids are related (cosine at least ``merge_cosine``:
the same failure worded differently; MiniLM puts unrelated topics near 0) are merged back, and points
HDBSCAN left as noise join the nearest cluster when their cosine to its centroid is at least
``attach_cosine``; the rest are reported as unclustered, never forced into a group. Every step
is deterministic for given texts.

Names are the cluster's distinctive terms (class-based TF-IDF over the clusters, as BERTopic
names topics) after the checks most of its cases fail.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ftlineage.audit import Embedder
from ftlineage.failures._items import FailedCase

EMBED_CHARS = 400  # of the input and of the output, each: what MiniLM reads of a case
_WORD = re.compile(r"[a-z][a-z'’]{2,}")
STOPWORDS = frozenset(
    """the and for are but not you your with this that have has had was were will would can could
    what when where which who whom why how all any each few more most other some such than too
    very just into over under about above below from then there here they them their our ours
    his her hers its it's i'm i've she him yes out off own same both only again once also
    does did doing done been being let get got please thank thanks hello okay ok""".split()
)


@dataclass(frozen=True)
class ClusterOptions:
    """How failed cases are grouped. Recorded in the feed.

    ``min_cluster_size``: HDBSCAN's smallest cluster; ``None`` sizes it to the signature group
    (``max(3, round(sqrt(n) / 2))``).
    """

    min_cluster_size: int | None = None
    merge_cosine: float = 0.3
    attach_cosine: float = 0.3
    terms: int = 5

    def __post_init__(self) -> None:
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise ValueError(f"min_cluster_size must be at least 2 but got {self.min_cluster_size}")
        for name in ("merge_cosine", "attach_cosine"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [-1, 1] but got {getattr(self, name)}")

    def size_for(self, n: int) -> int:
        """The smallest cluster for a signature group of ``n`` cases."""
        return self.min_cluster_size or max(3, round(math.sqrt(n) / 2))


def case_text(case: FailedCase) -> str:
    """What is embedded of a case: its input and its output, each cut to :data:`EMBED_CHARS`."""
    return f"{case.prompt[:EMBED_CHARS]}\n=> {case.output[:EMBED_CHARS]}"


def signature(case: FailedCase) -> tuple[str, ...]:
    """The stage and the failing checks of a case, sorted."""
    return (f"stage:{case.stage}", *sorted(case.checks))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _merge(vecs: np.ndarray, labels: np.ndarray, cosine: float) -> np.ndarray:
    """Relabel so sub-clusters whose centroids have cosine ≥ ``cosine`` are one (single linkage)."""
    ids = sorted(set(labels.tolist()) - {-1})
    parent = {k: k for k in ids}

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    cents = {k: _unit(vecs[labels == k].mean(axis=0)) for k in ids}
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if float(cents[a] @ cents[b]) >= cosine:
                parent[root(b)] = root(a)
    return np.array([root(int(x)) if x >= 0 else -1 for x in labels], dtype=int)


def _attach(vecs: np.ndarray, labels: np.ndarray, cosine: float) -> np.ndarray:
    """Noise points join the cluster with the nearest centroid when its cosine is ≥ ``cosine``."""
    ids = sorted(set(labels.tolist()) - {-1})
    if not ids:
        return labels
    cents = np.stack([_unit(vecs[labels == k].mean(axis=0)) for k in ids])
    out = labels.copy()
    for i in np.nonzero(labels < 0)[0]:
        sims = cents @ vecs[i]
        best = int(np.argmax(sims))
        if sims[best] >= cosine:
            out[i] = ids[best]
    return out


def _group_labels(vecs: np.ndarray, options: ClusterOptions) -> np.ndarray:
    """Clusters of one signature group: HDBSCAN, merged and attached; a small group is one cluster."""
    size = options.size_for(len(vecs))
    if len(vecs) < 2 * size:
        return np.zeros(len(vecs), dtype=int)
    from sklearn.cluster import HDBSCAN

    labels = np.asarray(HDBSCAN(min_cluster_size=size, copy=True).fit_predict(vecs), dtype=int)
    if labels.max() < 0:  # no denser part than the whole: the group is one cluster, far outliers aside
        labels = np.full(len(vecs), -1, dtype=int)
        labels[int(np.argmax(vecs @ _unit(vecs.mean(axis=0))))] = 0
    return _attach(vecs, _merge(vecs, labels, options.merge_cosine), options.attach_cosine)


def cluster_labels(cases: Sequence[FailedCase], vecs: np.ndarray, options: ClusterOptions) -> np.ndarray:
    """A label per case (``-1``: unclustered): signature groups, then text clusters inside each."""
    out = np.full(len(cases), -1, dtype=int)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, c in enumerate(cases):
        groups.setdefault(signature(c), []).append(i)
    offset = 0
    for sig in sorted(groups):
        idx = np.array(groups[sig])
        labels = _group_labels(vecs[idx], options)
        for i, label in zip(idx.tolist(), labels.tolist(), strict=True):
            out[i] = offset + label if label >= 0 else -1
        offset += max(labels.tolist(), default=-1) + 1
    return out


def embed(cases: Sequence[FailedCase], embedder: Embedder) -> np.ndarray:
    """Unit vectors of :func:`case_text`."""
    return np.asarray(embedder.encode([case_text(c) for c in cases]), dtype=np.float32)


def terms_of(docs: Sequence[str]) -> list[str]:
    """Lower-cased words of three or more letters, stop words left out."""
    return [w for d in docs for w in _WORD.findall(d.lower()) if w not in STOPWORDS]


def distinctive_terms(groups: Sequence[Sequence[str]], top: int) -> list[list[str]]:
    """Per group of texts, the ``top`` terms by class-based TF-IDF (BERTopic's c-TF-IDF).

    ``tf(t, g) · log(1 + A / f(t))``, A the mean number of words per group and f(t) the count
    of t over all groups; ties break alphabetically, so names are stable.
    """
    counts = [Counter(terms_of(g)) for g in groups]
    total = Counter[str]()
    for c in counts:
        total.update(c)
    mean_words = sum(total.values()) / max(len(counts), 1)
    out = []
    for c in counts:
        words = sum(c.values()) or 1
        weight = {t: (n / words) * math.log(1 + mean_words / total[t]) for t, n in c.items()}
        out.append(sorted(weight, key=lambda t: (-weight[t], t))[:top])
    return out
