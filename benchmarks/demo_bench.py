"""Time the main job stage by stage and print the figures.

Usage: python benchmarks/demo_bench.py [--recipe recipes/healthcare_v17.yaml] [--cold]

Runs the job against a throwaway sqlite store, then prints the wall time of each stage
(from the ``time/*`` metrics the job logs), the base-model build time when ``--cold``
(empty model cache), the decision and the held-out / arena figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", default="recipes/healthcare_v17.yaml")
    parser.add_argument("--cold", action="store_true", help="build the base model from scratch")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ftlineage-bench-"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    os.environ["FTLINEAGE_WORK_DIR"] = str(tmp / "work")
    os.environ.setdefault("FTLINEAGE_PROGRESS", "0")
    if args.cold:
        os.environ["FTLINEAGE_CACHE_DIR"] = str(tmp / "cache")
    from mlflow.tracking import MlflowClient

    from ftlineage.pipeline import run_job

    start = time.perf_counter()
    result = run_job(args.recipe, None)
    total = time.perf_counter() - start
    run = MlflowClient().get_run(result.run_id)
    m = {**{k: float(v) for k, v in run.data.params.items() if k.startswith(("baseline/", "arena/"))},
         **run.data.metrics,
         **{f"time/{k.removeprefix('ftlineage.time.')}": float(v) for k, v in run.data.tags.items()
            if k.startswith("ftlineage.time.")}}
    print(f"recipe          {args.recipe} ({'cold' if args.cold else 'warm'} model cache)")
    print(f"total           {total:7.1f} s   decision={result.decision}")
    for stage in ("audit", "train", "arena", "register"):
        if f"time/{stage}_s" in m:
            print(f"  {stage:<13} {m[f'time/{stage}_s']:7.1f} s")
    for key in ("heldout/field_accuracy", "heldout/json_valid", "drift/overall"):
        print(f"{key:<24} base {m.get('baseline/' + key, float('nan')):.3f} -> "
              f"candidate {m.get('candidate/' + key, float('nan')):.3f}")
    print(f"arena W/L/T     {m.get('arena/wins', 0):.0f}/{m.get('arena/losses', 0):.0f}/"
          f"{m.get('arena/ties', 0):.0f}  CI [{m.get('arena/ci_low', float('nan')):.3f}, "
          f"{m.get('arena/ci_high', float('nan')):.3f}]")


if __name__ == "__main__":
    main()
