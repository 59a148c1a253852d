"""Audit throughput and peak memory, full audit and per part, with datasketch + detect-secrets beside it.

    python benchmarks/audit_bench.py --rows 1000000            # full audit (scanners + exact + MinHash-LSH)
    python benchmarks/audit_bench.py --rows 100000 --semantic  # plus the embedding figure

Each part runs in its own child process so its peak RSS is its own. Rows are ~500 characters of
generated support text with planted problems (ftlineage.audit.planted).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

BASELINE_ROWS = 20_000  # datasketch + detect-secrets are timed on a slice, then scaled


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_corpus(path: Path, rows: int) -> None:
    """Unique generated rows, with a planted-problem corpus (every category) at the front."""
    from ftlineage.audit.planted import iter_base, plant

    planted = plant(n_base=min(rows, 20_000), per_category=max(min(rows, 20_000) // 200, 10), seed=1)
    with path.open("w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in planted.rows[:rows])
        for i, row in enumerate(iter_base(max(rows - len(planted.rows), 0), seed=2)):
            fh.write(json.dumps({**row, "id": f"b{i:08d}"}) + "\n")


def part_full(path: str, workers: int, semantic: bool) -> dict:
    from ftlineage import audit
    from ftlineage.recipe import AuditPolicy

    policy = AuditPolicy(semantic=semantic, semantic_max_rows=10**9)
    t = time.perf_counter()
    res = audit.audit_corpus([Path(path)], policy, suite_prompts={}, seed=0, workers=workers, progress=False)
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        audit.write_outputs(res, Path(out))
    workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "timings": res.report.timings_s, "rows": res.report.rows_in,
            "outputs_s": time.perf_counter() - t, "workers_peak_rss_mb": workers_mb}


def part_scanners(path: str, limit: int) -> dict:
    from ftlineage.audit import scan_text

    texts = _texts(path, limit)
    t = time.perf_counter()
    for text in texts:
        scan_text(text)
    return {"seconds": time.perf_counter() - t, "rows": len(texts)}


def part_minhash(path: str, limit: int) -> dict:
    from ftlineage.audit._minhash import band_keys, normalize, signatures

    texts = [normalize(t) for t in _texts(path, limit)]
    t = time.perf_counter()
    for s in range(0, len(texts), 4096):
        band_keys(signatures(texts[s : s + 4096], shingle_size=5, num_perm=128, seed=0), 16)
    return {"seconds": time.perf_counter() - t, "rows": len(texts)}


def part_datasketch(path: str, limit: int) -> dict:
    from datasketch import MinHash, MinHashLSH

    texts = _texts(path, limit)
    lsh = MinHashLSH(threshold=0.85, num_perm=128)
    t = time.perf_counter()
    for i, text in enumerate(texts):
        m = MinHash(num_perm=128)
        m.update_batch([text[j : j + 5].encode() for j in range(len(text) - 4)])
        lsh.query(m)
        lsh.insert(str(i), m)
    return {"seconds": time.perf_counter() - t, "rows": len(texts)}


def part_detect_secrets(path: str, limit: int) -> dict:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    texts = _texts(path, limit // 10)
    t = time.perf_counter()
    with default_settings():
        for text in texts:
            list(scan_line(text))
    return {"seconds": time.perf_counter() - t, "rows": len(texts)}


def part_semantic(path: str, limit: int) -> dict:
    import numpy as np

    from ftlineage.audit._semantic import get_embedder, similar_pairs

    texts = _texts(path, min(limit, 2000))
    model = get_embedder("all-MiniLM-L6-v2")
    t = time.perf_counter()
    vecs = model.encode(texts)
    embed_s = time.perf_counter() - t
    reps = -(-limit // len(vecs))
    noise = np.random.default_rng(0).normal(scale=0.05, size=(reps * len(vecs), vecs.shape[1]))
    big = np.tile(vecs, (reps, 1))[:limit] + noise[:limit].astype(np.float32)
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    t = time.perf_counter()
    pairs = similar_pairs(big.astype(np.float32), 0.95)
    return {
        "embed_rows": len(texts),
        "embed_s": embed_s,
        "search_rows": limit,
        "search_s": time.perf_counter() - t,
        "pairs": len(pairs),
    }


def _texts(path: str, limit: int) -> list[str]:
    out = []
    with open(path) as fh:
        for line in fh:
            row = json.loads(line)
            out.append(f"{row['prompt']}\n{row['completion']}")
            if len(out) >= limit:
                break
    return out


def _child(fn, args, queue) -> None:  # noqa: ANN001
    result = fn(*args)
    result["peak_rss_mb"] = _peak_mb()
    queue.put(result)


def run_part(fn, *args) -> dict:  # noqa: ANN001
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--semantic", action="store_true", help="also measure embeddings/s and search at --rows")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        t = time.perf_counter()
        make_corpus(path, args.rows)
        size = path.stat().st_size
        print(
            f"corpus: {args.rows:,} rows, {size / 1e6:.0f} MB ({size / args.rows:.0f} bytes/row), "
            f"generated in {time.perf_counter() - t:.1f}s",
            flush=True,
        )
        full = run_part(part_full, str(path), args.workers, False)
        print(
            f"full audit ({args.workers} workers): {full['seconds']:.1f}s, {args.rows / full['seconds']:,.0f} rows/s, "
            f"peak RSS {full['peak_rss_mb']:,.0f} MB driver + {full['workers_peak_rss_mb']:,.0f} MB "
            f"largest worker  stages {full['timings']}",
            flush=True,
        )
        print(f"  then writing audit.json, flags.jsonl, clean.jsonl, report.md/html: {full['outputs_s']:.1f}s")
        sub = min(args.rows, 200_000)
        rows_s = {}
        for name, fn, n in (
            ("scanners", part_scanners, sub),
            ("minhash signatures+bands", part_minhash, sub),
            ("datasketch MinHashLSH", part_datasketch, min(sub, BASELINE_ROWS)),
            ("detect-secrets", part_detect_secrets, min(sub, BASELINE_ROWS)),
        ):
            r = run_part(fn, str(path), n)
            rows_s[name] = r["rows"] / r["seconds"]
            print(
                f"  {name:26s} {rows_s[name]:>12,.0f} rows/s on 1 core  ({r['rows']:,} rows, "
                f"peak RSS {r['peak_rss_mb']:,.0f} MB)",
                flush=True,
            )
        print(
            f"ratio: ftlineage scanners / detect-secrets = {rows_s['scanners'] / rows_s['detect-secrets']:,.0f}x; "
            f"ftlineage MinHash / datasketch = {rows_s['minhash signatures+bands'] / rows_s['datasketch MinHashLSH']:,.1f}x"
        )
        if args.semantic:
            s = run_part(part_semantic, str(path), args.rows)
            print(
                f"semantic: {s['embed_rows'] / s['embed_s']:,.0f} embeddings/s (all-MiniLM-L6-v2, 128 tokens, "
                f"{s['embed_rows']:,} rows); exact cosine search over {s['search_rows']:,} vectors "
            f"(those embeddings tiled with noise): "
                f"{s['search_s']:.1f}s ({s['pairs']:,} pairs ≥ 0.95), peak RSS {s['peak_rss_mb']:,.0f} MB"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
