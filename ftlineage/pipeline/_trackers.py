"""The job's trackers: MLflow always (the system of record), W&B and Weave when asked."""

from __future__ import annotations

import os
import sys
from typing import Any

from ftlineage import lineage
from ftlineage.recipe import Recipe
from ftlineage.settings import Settings


def job_tracker(recipe: Recipe, rows: list[dict], settings: Settings) -> Any:
    """MLflow (resuming a crashed run of the same recipe and corpus), plus W&B / Weave when asked.

    Asked by the recipe's ``tracking.report_to`` or the ``FTLINEAGE_REPORT_TO`` environment
    variable (comma-separated).
    """
    from ftlineage.tracking._mlflow import MlflowTracker

    key = lineage.sha256_json(
        {"recipe": recipe.sha(), "corpus": lineage.sha256_rows(rows, domain="corpus")}, domain="resume"
    )
    tracker = MlflowTracker.start(experiment=recipe.name, run_name=f"{recipe.name}-job", resume_key=key)
    if tracker.resumed:
        print(
            f"ftlineage: resuming run {tracker.run_id} (a crashed run of this recipe and corpus)",
            file=sys.stderr,
        )
    spec = recipe.tracking
    env = os.environ.get("FTLINEAGE_REPORT_TO", "")
    asked = set(spec.report_to) | {x.strip() for x in env.split(",") if x.strip()}
    others: list[Any] = []
    if "wandb" in asked:
        from ftlineage.tracking._wandb import WandbTracker

        others.append(
            WandbTracker.start(
                project=spec.wandb_project,
                run_id=tracker.run_id,
                name=f"{recipe.name}-job",
                work_dir=settings.work_dir.resolve(),
            )
        )
    if "weave" in asked:
        from ftlineage.tracking._weave import WeaveTracker

        outbox = settings.work_dir.resolve() / "weave-outbox"
        others.append(WeaveTracker(spec.weave_project or spec.wandb_project, outbox, tracker.run_id))
    if not others:
        return tracker
    from ftlineage.tracking._fanout import FanoutTracker

    return FanoutTracker(tracker, others)
