"""The full demo recipe end to end (minutes): it must pass and register @challenger."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.pipeline import run_job

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


def test_demo_recipe_passes_and_registers_challenger(store, monkeypatch):
    monkeypatch.delenv("FTLINEAGE_CACHE_DIR", raising=False)  # reuse the user's built base
    result = run_job(str(ROOT / "recipes/healthcare_v17.yaml"), None)
    assert result.decision == "pass", result.reasons
    client = MlflowClient(store)
    run = client.get_run(result.run_id)
    m, base = run.data.metrics, {k: float(v) for k, v in run.data.params.items() if k.startswith("baseline/")}
    # measured: 0.245 vs 0.029 field accuracy, 0.956 vs 0.000 JSON validity
    assert m["candidate/heldout/field_accuracy"] > base["baseline/heldout/field_accuracy"] + 0.15
    assert m["candidate/heldout/json_valid"] > base["baseline/heldout/json_valid"] + 0.5
    mv = client.get_model_version_by_alias("healthcare-postcall", "challenger")
    for key in ("prompt_sha", "dataset_sha", "base_model_sha", "model_sha", "suite_sha", "code_sha"):
        assert mv.tags[f"ftlineage.{key}"] == run.data.tags[f"ftlineage.{key}"]
    assert run.data.tags["ftlineage.suite_sha"] in mv.description
