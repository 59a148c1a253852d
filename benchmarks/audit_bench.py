"""The default audit (semantic dedup included) at several sizes, beside a peer stack, as ratios.

    python benchmarks/audit_bench.py                          # 20k, 100k and 1M rows
    python benchmarks/audit_bench.py --rows 20000 100000      # just those

Each audit runs in its own child process so its peak RSS is its own; writing the outputs
(audit.json, flags.jsonl, clean.jsonl, report.md/html) is timed apart. Rows are ~550 characters
of generated support text, with a planted-problem corpus (every category, paraphrases included)
in the first 20,000 rows (ftlineage.audit.planted).

The peer stack is what one would assemble from common parts: datasketch MinHashLSH,
detect-secrets, and sentence-transformers MiniLM on every row. Their rates are measured on slices
in the same run and scaled linearly to each size — a lower bound for the peer, since exhaustive
cosine search grows with the square of the rows and is left out.
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


def part_full(path: str, workers: int) -> dict:
    from ftlineage import audit
    from ftlineage.recipe import AuditPolicy

    policy = AuditPolicy()
    t = time.perf_counter()
    res = audit.audit_corpus([Path(path)], policy, suite_prompts={}, seed=0, workers=workers, progress=False)
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        audit.write_outputs(res, Path(out))
    workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "timings": res.report.timings_s, "rows": res.report.rows_in,
            "outputs_s": time.perf_counter() - t, "workers_peak_rss_mb": workers_mb,
            "semantic": res.report.semantic}


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


def part_minilm(path: str, limit: int) -> dict:
    from ftlineage.audit._semantic import get_embedder

    texts = _texts(path, limit)
    model = get_embedder("all-MiniLM-L6-v2")
    t = time.perf_counter()
    model.encode(texts)
    return {"seconds": time.perf_counter() - t, "rows": len(texts)}


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
    ap.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    ours = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            path = Path(tmp) / f"corpus-{n}.jsonl"
            make_corpus(path, n)
            full = run_part(part_full, str(path), args.workers)
            ours[n] = full
            print(
                f"{n:>9,} rows: audit {full['seconds']:.1f}s ({n / full['seconds']:,.0f} rows/s), "
                f"outputs {full['outputs_s']:.1f}s, peak RSS {full['peak_rss_mb']:,.0f} MB driver + "
                f"{full['workers_peak_rss_mb']:,.0f} MB largest worker; stages {full['timings']}\n"
                f"           semantic: {full['semantic']}",
                flush=True,
            )
        path = Path(tmp) / f"corpus-{args.rows[-1]}.jsonl"
        rates = {}
        for name, fn, limit in (
            ("datasketch MinHashLSH", part_datasketch, BASELINE_ROWS),
            ("detect-secrets", part_detect_secrets, BASELINE_ROWS),
            ("MiniLM on every row", part_minilm, 1000),
        ):
            r = run_part(fn, str(path), limit)
            rates[name] = r["rows"] / r["seconds"]
            print(f"peer {name:24s} {rates[name]:>10,.0f} rows/s on a {r['rows']:,}-row slice", flush=True)
    for n, full in ours.items():
        peer = sum(n / rate for rate in rates.values())
        total = full["seconds"] + full["outputs_s"]
        print(
            f"{n:>9,} rows: ftlineage {total:,.0f}s (audit + outputs) vs peer ≥ {peer:,.0f}s: "
            f"{peer / total:,.1f}x; semantic stage {full['timings'].get('semantic_s', 0):,.0f}s vs MiniLM on "
            f"every row ≥ {n / rates['MiniLM on every row']:,.0f}s"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
