"""W&B offline run files, read back, hold the same per-checkpoint metrics as MLflow."""

from __future__ import annotations

import math

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.pipeline import run_job
from ftlineage.testing.wandb_files import read_offline_run

pytestmark = pytest.mark.integration


def test_wandb_offline_run_mirrors_the_mlflow_checkpoint_metrics(tiny_recipe, store, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    tiny_recipe.write_text(tiny_recipe.read_text() + "tracking: {report_to: [mlflow, wandb]}\n")
    result = run_job(str(tiny_recipe), None)
    (folder,) = (tmp_path / "work" / "wandb").glob(f"offline-run-*-{result.run_id}")
    wb = read_offline_run(folder)
    client = MlflowClient()
    by_step: dict[int, dict] = {}
    for row in wb.history:
        by_step.setdefault(row["_step"], {}).update(row)
    for key in ("heldout/field_accuracy", "drift/overall", "drift/arithmetic", "train/loss"):
        mlflow_points = {m.step: m.value for m in client.get_metric_history(result.run_id, key)}
        wandb_points = {s: row[key] for s, row in by_step.items() if key in row}
        assert mlflow_points.keys() == wandb_points.keys(), key
        assert all(math.isclose(mlflow_points[s], wandb_points[s], rel_tol=1e-6) for s in mlflow_points), key
    tags = client.get_run(result.run_id).data.tags
    assert wb.config["ftlineage.prompt_sha"] == tags["ftlineage.prompt_sha"]
    assert wb.config["ftlineage.model_sha"] == tags["ftlineage.model_sha"]
    assert wb.config["ftlineage.decision"] == result.decision
    assert wb.summary["gate/decision"] == result.decision
