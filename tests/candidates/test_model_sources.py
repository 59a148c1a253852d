"""Where a model candidate can come from: a PEFT adapter folder (merged into its base) or runs:/ID/path."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from tests.candidates.conftest import write_recipe

pytestmark = pytest.mark.integration


def _run(path):
    from ftlineage.pipeline import run_job

    return run_job(str(path), None)


def test_a_peft_adapter_folder_is_merged_into_its_base_and_gated(cities, store, tmp_path):
    from peft import LoraConfig, get_peft_model

    from ftlineage.models import load_model

    model, _ = load_model(str(cities.base))
    adapter = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    adapter.save_pretrained(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"]
    result = _run(write_recipe(tmp_path, cities, "candidate: {kind: model, path: adapter}\n"))
    # a fresh LoRA adapter is the identity: merged, it is the base again, and the arena says so
    assert result.decision == "blocked"
    assert any(r.startswith("arena W/L/T 0/0/") for r in result.reasons), result.reasons
    tags = MlflowClient(store).get_run(result.run_id).data.tags
    assert tags[T.MODEL_SHA] == tags["ftlineage.base_model_sha"]  # merged weights digest like the base


def test_a_runs_uri_is_downloaded_and_gated(cities, store, tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(cities.taught), "trained")
    result = _run(
        write_recipe(
            tmp_path, cities, f"candidate: {{kind: model, path: 'runs:/{run.info.run_id}/trained'}}\n"
        )
    )
    assert result.decision == "pass", result.reasons
    assert (
        MlflowClient(store).get_run(result.run_id).data.params["candidate.path"]
        == f"runs:/{run.info.run_id}/trained"
    )


def test_a_missing_model_folder_is_refused_before_any_run(cities, store, tmp_path):
    from ftlineage.errors import RecipeError

    with pytest.raises(RecipeError, match=r"recipe.yaml \(candidate.path\): no model folder .*missing"):
        _run(write_recipe(tmp_path, cities, "candidate: {kind: model, path: ./missing}\n"))
    assert not MlflowClient(store).search_experiments(filter_string="name = 'cities'")
