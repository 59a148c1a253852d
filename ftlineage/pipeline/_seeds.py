"""``ftlineage train --seeds N``: the same recipe under N seeds, to tell drift noise from forgetting.

A "concerning" drift (2–5 points) from one seed is not evidence; the spread across seeds is.
Each seed is a nested run under one parent that carries the spread (mean, sd, min, max).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from ftlineage.errors import AuditBlocked
from ftlineage.logging import get_logger
from ftlineage.pipeline import new_context, prepare, start
from ftlineage.pipeline._lifecycle import lifecycle, start_run
from ftlineage.pipeline._stages import audit_stage, split_stage
from ftlineage.pipeline._train import train_stage
from ftlineage.settings import Settings

logger = get_logger(__name__)


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


def train_seeds(recipe_path: Path, n: int, settings: Settings | None = None) -> SeedSpread:
    """Audit once, then train once per seed (``seed``, ``seed+1``, ...); log the spread to a parent run.

    Parent and children share one lifecycle: an exception anywhere leaves every run FAILED
    with the error tagged, never RUNNING or FINISHED.
    """
    settings = settings or Settings.from_env()
    recipe, suite, rows = prepare(recipe_path, None)
    parent = start_run(recipe, settings, f"{recipe.name}-seeds")
    pctx = new_context(recipe, suite, rows, settings, parent)
    with lifecycle(parent):
        start(pctx)
        audited = audit_stage(pctx)
        if audited.report.verdict == "blocked":
            raise AuditBlocked("the data audit blocked training: " + "; ".join(audited.report.reasons))
        results, notes = [], []
        for i in range(n):
            seeded = recipe.model_copy(update={"seed": recipe.seed + i})
            child = start_run(seeded, settings, f"seed-{seeded.seed}", parent_run_id=parent.run_id)
            with lifecycle(child):
                ctx = new_context(seeded, suite, rows, settings, child)
                start(ctx)
                logger.info("seed %d (%d/%d) ...", seeded.seed, i + 1, n)
                trained = train_stage(ctx, split_stage(ctx, audited.kept))
            results.append(dict(trained.candidate.metrics))
            worst = trained.assessments[-1].worst if trained.assessments else "-"
            notes.append(f"seed {seeded.seed}: best step {trained.best_step}, drift {worst}")
        keys = sorted({k for r in results for k in r if k.startswith(("heldout/", "drift/", "safety/"))})
        table = spread(results, keys)
        for name, s in table.items():
            parent.log_metrics({f"seeds/{name}/mean": s["mean"], f"seeds/{name}/sd": s["sd"]}, step=0)
        seeds = list(range(recipe.seed, recipe.seed + n))
        pctx.write("seeds", "seeds.json", json.dumps({"seeds": seeds, "spread": table}, indent=2))
    return SeedSpread(tuple(seeds), table, tuple(notes))
