"""``ftlineage train --seeds N``: the same recipe under N seeds, to tell drift noise from forgetting.

A "concerning" drift (2–5 points) from one seed is not evidence; the spread across seeds is.
Each seed is a nested run under one parent that carries the spread (mean, sd, min, max).
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from ftlineage.errors import AuditBlocked
from ftlineage.pipeline import _prepare, _start
from ftlineage.pipeline._context import JobContext
from ftlineage.pipeline._stages import audit_stage, split_stage
from ftlineage.pipeline._train import train_stage
from ftlineage.settings import Settings
from ftlineage.tracking._mlflow import MlflowTracker


@dataclass(frozen=True)
class SeedSpread:
    """Per-metric spread of the chosen checkpoint across seeds."""

    seeds: tuple[int, ...]
    metrics: dict[str, dict[str, float]]
    notes: tuple[str, ...]


def spread(values: list[dict[str, float]], keys: list[str]) -> dict[str, dict[str, float]]:
    """Mean, sample sd, min and max of each key over the runs that scored it."""
    out = {}
    for key in keys:
        xs = [v[key] for v in values if key in v and v[key] == v[key]]
        if xs:
            sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
            out[key] = {"mean": statistics.fmean(xs), "sd": sd, "min": min(xs), "max": max(xs)}
    return out


def train_seeds(recipe_path: Path, n: int) -> SeedSpread:
    """Audit, then train once per seed (``seed``, ``seed+1``, ...); log the spread to a parent run."""
    settings = Settings.from_env()
    recipe, suite, rows = _prepare(recipe_path, None)
    parent = MlflowTracker.start(experiment=recipe.name, run_name=f"{recipe.name}-seeds")
    results, notes = [], []
    try:
        for i in range(n):
            seeded = recipe.model_copy(update={"seed": recipe.seed + i})
            child = MlflowTracker.start(
                experiment=recipe.name, run_name=f"seed-{seeded.seed}", parent_run_id=parent.run_id
            )
            ctx = JobContext(seeded, suite, settings, child, settings.work_dir.resolve() / child.run_id, rows)
            _start(ctx)
            if audit_stage(ctx).verdict == "blocked":
                child.finish("FINISHED")
                raise AuditBlocked("the data audit blocked training; see `ftlineage audit`")
            print(f"ftlineage: seed {seeded.seed} ({i + 1}/{n}) ...", file=sys.stderr, flush=True)
            train_stage(ctx, split_stage(ctx))
            results.append(ctx.results["candidate"])
            worst = (
                ctx.results["callback"].assessments[-1].worst if ctx.results["callback"].assessments else "-"
            )
            notes.append(f"seed {seeded.seed}: best step {ctx.results['best_step']}, drift {worst}")
            child.finish("FINISHED")
    except BaseException:
        parent.finish("FAILED")
        raise
    keys = sorted({k for r in results for k in r if k.startswith(("heldout/", "drift/", "safety/"))})
    table = spread(results, keys)
    for name, s in table.items():
        parent.log_metrics({f"seeds/{name}/mean": s["mean"], f"seeds/{name}/sd": s["sd"]}, step=0)
    out = settings.work_dir.resolve() / parent.run_id
    out.mkdir(parents=True, exist_ok=True)
    (out / "seeds.json").write_text(
        json.dumps({"seeds": list(range(recipe.seed, recipe.seed + n)), "spread": table}, indent=2),
        encoding="utf-8",
    )
    parent.log_artifact(out / "seeds.json", "seeds")
    parent.finish("FINISHED")
    return SeedSpread(tuple(range(recipe.seed, recipe.seed + n)), table, tuple(notes))
