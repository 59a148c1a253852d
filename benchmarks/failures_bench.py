"""Failure feed: cluster purity on planted failure modes, and time per case.

    python benchmarks/failures_bench.py [--per-mode 10 40 80] [--seeds 0 1 2]

Plants three failure modes (over-refusal of benign clinic questions, broken JSON, a hallucinated
field) in healthcare_v17's scored cases (``ftlineage.testing.planted_failures``) and builds the
feed. Prints, per size and seed: purity (share of clustered cases whose cluster's majority mode is
their own), clusters, unclustered cases, whether each mode got a cluster of its own with the
matching fix, and the time to collect + embed + cluster + name + fix. The peer, in the same
process on the same embeddings: HDBSCAN on the text embeddings alone (no split by failing
checks), what clustering a trace view's text gives.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter

import numpy as np

from ftlineage import suites
from ftlineage.audit import get_embedder
from ftlineage.failures import build_feed, from_scores, purity
from ftlineage.failures._cluster import embed
from ftlineage.testing.planted_failures import MODES, planted_scores

RULE = {"over_refusal": "over-refusal", "broken_json": "schema-adherence", "hallucinated": "hallucination"}


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _peer_purity(items, vecs, truth) -> tuple[float, int]:
    from sklearn.cluster import HDBSCAN

    labels = HDBSCAN(min_cluster_size=max(3, round(len(items) ** 0.5 / 2)), copy=True).fit_predict(vecs)
    groups: dict[int, list[str]] = {}
    for case, label in zip(items, labels.tolist(), strict=True):
        if label >= 0:
            groups.setdefault(label, []).append(truth[case.key])
    total = sum(len(g) for g in groups.values())
    hits = sum(Counter(g).most_common(1)[0][1] for g in groups.values())
    return (hits / total if total else float("nan")), len(groups)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-mode", type=int, nargs="+", default=[10, 40, 80])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    threads = os.environ.get("FTLINEAGE_NUM_THREADS", "default")
    print(f"machine: {_cpu()}, {os.cpu_count()} cores; torch threads {threads}")
    suite = suites.load("healthcare_v17")
    start = time.perf_counter()
    embedder = get_embedder("all-MiniLM-L6-v2")
    embedder.encode(["warm up"])
    print(f"MiniLM load: {time.perf_counter() - start:.1f} s")
    print(
        "cases  seed  purity  clusters  unclustered  modes ok  seconds  cases/s  | peer purity  peer clusters"
    )
    for per in args.per_mode:
        for seed in args.seeds:
            cand, base, truth, prompts = planted_scores(suite, per, seed)
            t0 = time.perf_counter()
            items = from_scores(cand, base, prompts)
            feed = build_feed(items, embedder, run_id="bench", against="base")
            seconds = time.perf_counter() - t0
            major = {c.id: Counter(truth[k] for k in c.case_keys).most_common(1)[0][0] for c in feed.clusters}
            ok = all(
                sum(m == mode for m in major.values()) == 1
                and next(c for c in feed.clusters if major[c.id] == mode).fix.rule == RULE[mode]
                for mode in MODES
            )
            peer, peer_k = _peer_purity(items, np.asarray(embed(items, embedder)), truth)
            print(
                f"{len(items):5d}  {seed:4d}  {purity(feed, truth):6.3f}  {len(feed.clusters):8d}  "
                f"{len(feed.unclustered):11d}  {'yes' if ok else 'NO':>8}  {seconds:7.2f}  "
                f"{len(items) / seconds:7.0f}  | {peer:11.3f}  {peer_k:13d}"
            )


if __name__ == "__main__":
    main()
