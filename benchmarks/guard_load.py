"""Load on the tracking server with and without the registry guard, on the real stack.

Brings up PostgreSQL + SeaweedFS + ``mlflow server --app-name ftlineage-guard`` (``ftlineage
stack``) and, beside it, a plain ``mlflow server`` on another database of the same PostgreSQL,
with the same workers. 16 writer threads then drive each server with sweep-like traffic over
the REST API: metric logging (70%), registry reads (15%), unprotected alias moves (10%) and
X. Rounds
alternate between the two servers so drift on a shared machine hits both alike.

    python benchmarks/guard_load.py [--writers 16] [--ops 60] [--rounds 2] [--workers 4]

Prints throughput and p50/p99 latency per server and per operation, and the guard's ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIX = (
    ("log_metric", 0.65),
    ("artifact_upload", 0.05),
    ("registry_read", 0.15),
    ("alias_challenger", 0.10),
    ("alias_champion", 0.05),
)


def _setup(url: str, key: bytes, writers: int) -> tuple[list[str], list[str]]:
    """One experiment and run per writer; one registered model with signed versions."""
    from mlflow.tracking import MlflowClient

    from ftlineage.gate import GateDecision
    from ftlineage.gate.evidence import evidence_tags
    from ftlineage.gate.promotion import sign_version
    from ftlineage.tracking import MlflowRegistry

    client = MlflowClient(url)
    exp = client.create_experiment(f"load-{time.time_ns()}")
    runs = [client.create_run(exp).info.run_id for _ in range(writers)]
    name = f"load-{time.time_ns()}"
    client.create_registered_model(name)
    decision = GateDecision(decision="pass", stage="gate", checks=(), lineage={"prompt_sha": "p" * 64})
    versions = []
    for run_id in runs[:4]:
        client.log_text(run_id, f"weights of {run_id}", "model/weights.txt")
        mv = client.create_model_version(name, f"runs:/{run_id}/model", run_id, tags=evidence_tags(decision))
        sign_version(MlflowRegistry(client), name, str(mv.version), decision, key)
        versions.append(str(mv.version))
    return runs, [name, *versions]


def _promote(url: str, name: str, version: str, key: bytes) -> str:
    """A protected move as the key holder makes it: a signed ledger entry, then the alias (``promote``).

    Returns ``""`` when it moved, ``"conflict"`` when another writer's promotion claimed the ledger
    entry first, ``"refused"`` when the guard refused the move (another claim landed in between).
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from ftlineage.errors import PromotionConflict
    from ftlineage.gate.promotion import move_alias
    from ftlineage.tracking import MlflowRegistry

    try:
        move_alias(MlflowRegistry(MlflowClient(url)), name, "champion", version, key=key)
    except PromotionConflict:
        return "conflict"
    except MlflowException:
        return "refused"
    return ""


def _writer(
    url: str, run_id: str, model: list[str], ops: int, seed: int, out: dict[str, list[float]], key: bytes
) -> None:
    from mlflow.tracking import MlflowClient

    rng = random.Random(seed)
    session = requests.Session()
    name, versions = model[0], model[1:]
    api = f"{url}/api/2.0/mlflow"
    artifacts = MlflowClient(url).get_run(run_id).info.artifact_uri.split(":", 1)[1].lstrip("/")
    for step in range(ops):
        op = rng.choices([m for m, _ in MIX], [w for _, w in MIX])[0]
        start = time.perf_counter()
        if op == "log_metric":
            body = {"run_id": run_id, "key": "train/loss", "value": rng.random(), "timestamp": int(time.time() * 1000),
                    "step": step}  # fmt: skip
            answer = session.post(f"{api}/runs/log-metric", json=body, timeout=60)
        elif op == "registry_read":
            answer = session.get(f"{api}/registered-models/get", params={"name": name}, timeout=60)
        elif op == "artifact_upload":  # the guard checks every artifact write against protected files
            where = f"{url}/api/2.0/mlflow-artifacts/artifacts/{artifacts}/bench/{step}.txt"
            answer = session.put(where, data=f"step {step}".encode(), timeout=60)
        elif op == "alias_champion":
            outcome = _promote(url, name, rng.choice(versions), key)
            if outcome:
                out[f"conflict:alias_champion:{outcome}"].append(time.perf_counter() - start)
            out[op].append(time.perf_counter() - start)
            continue
        else:
            body = {"name": name, "alias": "challenger", "version": rng.choice(versions)}
            answer = session.post(f"{api}/registered-models/alias", json=body, timeout=60)
        elapsed = time.perf_counter() - start
        out[op].append(elapsed)
        if not answer.ok:  # counted, not fatal: see the note on concurrent alias writes in _report
            out[f"error:{op}:{answer.status_code}"].append(elapsed)


def _round(url: str, key: bytes, writers: int, ops: int, seed: int) -> tuple[float, dict[str, list[float]]]:
    runs, model = _setup(url, key, writers)
    per: list[dict[str, list[float]]] = [defaultdict(list) for _ in range(writers)]
    threads = [threading.Thread(target=_writer, args=(url, runs[i], model, ops, seed + i, per[i], key))
               for i in range(writers)]  # fmt: skip
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    merged: dict[str, list[float]] = defaultdict(list)
    for d in per:
        for op, xs in d.items():
            merged[op] += xs
    return wall, merged


def _pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] * 1000 if len(xs) > 1 else xs[0] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--ops", type=int, default=60, help="operations per writer per round")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=4, help="tracking server workers (both servers)")
    args = ap.parse_args()
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")

    from ftlineage.net import free_port
    from ftlineage.stack import down, start_server, up

    root = Path(tempfile.mkdtemp(prefix="ftlineage-load-"))
    key = "load-benchmark-key-" + "k" * 16
    stack = up(root, workers=args.workers, gate_key=key)
    plain_port = free_port()
    plain = start_server(stack, plain_port, root / "plain.log", guard=False, db="mlflow_plain")
    urls = {"plain": f"http://127.0.0.1:{plain_port}", "guard": stack.tracking_uri}
    try:
        results: dict[str, list[tuple[float, dict[str, list[float]]]]] = {"plain": [], "guard": []}
        for label in ("plain", "guard"):  # warm-up: first requests pay for imports and connections
            _round(urls[label], key.encode(), args.writers, 10, seed=7)
        for r in range(args.rounds):
            for label in ("plain", "guard") if r % 2 == 0 else ("guard", "plain"):
                results[label].append(_round(urls[label], key.encode(), args.writers, args.ops, seed=100 * r))
        _report(results, args)
    finally:
        plain.terminate()
        plain.wait(timeout=30)
        down(root, purge=True)


def _report(results: dict, args: argparse.Namespace) -> None:
    print(f"machine: {platform.node()} ({platform.processor() or platform.machine()}), {os.cpu_count()} CPUs; "
          f"{args.writers} writers x {args.ops} ops x {args.rounds} rounds; {args.workers} server workers")  # fmt: skip
    summary = {}
    for label, rounds in results.items():
        wall = sum(w for w, _ in rounds)
        ops: dict[str, list[float]] = defaultdict(list)
        for _, merged in rounds:
            for op, xs in merged.items():
                ops[op] += xs
        errors = {op: len(xs) for op, xs in ops.items() if op.startswith(("error:", "conflict:"))}
        ops = defaultdict(
            list, {op: xs for op, xs in ops.items() if not op.startswith(("error:", "conflict:"))}
        )
        every = [x for xs in ops.values() for x in xs]
        summary[label] = (len(every) / wall, _pct(every, 50), _pct(every, 99))
        print(f"{label:>6}: {len(every)} requests, {len(every) / wall:7.1f} req/s, "
              f"p50 {summary[label][1]:6.1f} ms, p99 {summary[label][2]:7.1f} ms")  # fmt: skip
        for op, xs in sorted(ops.items()):
            print(f"        {op:<17} n={len(xs):<5} p50 {_pct(xs, 50):6.1f} ms  p99 {_pct(xs, 99):7.1f} ms")
        for what, n in sorted(errors.items()):
            print(f"        {what}: {n}")
    (pt, p50, p99), (gt, g50, g99) = summary["plain"], summary["guard"]
    print(f"guard / plain: throughput x{gt / pt:.2f}, p50 x{g50 / p50:.2f}, p99 x{g99 / p99:.2f}")
    print(
        "alias_champion is a whole key-holder promotion (signed ledger entry + move, what `ftlineage promote` "
        "does); conflict: another writer's promotion claimed the entry first (the ledger's compare-and-set). "
        "errors: MLflow's set-alias on PostgreSQL is a read-then-insert, so two concurrent moves of one alias "
        "can answer 400 (UniqueViolation)"
    )


if __name__ == "__main__":
    main()
