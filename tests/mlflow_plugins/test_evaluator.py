"""``mlflow.models.evaluate(..., evaluators=["ftlineage"])`` on a registered demo model."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest

from ftlineage import suites
from ftlineage.gate.promotion import register
from ftlineage.tracking import MlflowRegistry
from ftlineage.training import evaluate_model
from tests.conftest import log_tiny_model

pytestmark = pytest.mark.integration


def test_the_ftlineage_evaluator_returns_and_logs_suite_metrics(tiny_export, store):
    recipe, model, tok = tiny_export.recipe, tiny_export.model, tiny_export.tokenizer
    client, run_id, uri = log_tiny_model(tiny_export, "eval", 16)
    register(
        MlflowRegistry(client),
        name="demo",
        source=uri,
        run_id=run_id,
        tags={},
        description="",
        alias="challenger",
    )
    suite = suites.load("healthcare_v17")
    data = pd.DataFrame({"transcript": [c.prompt for c in suite.heldout[:3]]})
    config = {"suite": "healthcare_v17", "limit": 3}
    # MLflow 3.17 wants the list form's config nested by evaluator name; the string form is flat.
    with mlflow.start_run():
        listed = mlflow.models.evaluate(
            "models:/demo@challenger",
            data,
            model_type="text",
            evaluators=["ftlineage"],
            evaluator_config={"ftlineage": config},
        )
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            "models:/demo@challenger",
            data,
            model_type="text",
            evaluators="ftlineage",
            evaluator_config=config,
        )
    expected, _ = evaluate_model(model, tok, suite, recipe.prompt_template, limit=3)
    for name in ("heldout/field_accuracy", "heldout/json_valid", "drift/overall", "drift/arithmetic"):
        assert math.isclose(result.metrics[name], expected[name]), name
        assert math.isclose(listed.metrics[name], expected[name]), name
    logged = client.get_run(run.info.run_id).data
    assert logged.metrics["drift/overall"] == result.metrics["drift/overall"]
    assert logged.tags["ftlineage.suite_sha"] == suite.sha


def test_without_a_suite_the_evaluator_declines():
    from mlflow_plugins.evaluator import FtlineageEvaluator

    assert not FtlineageEvaluator.can_evaluate(model_type="text", evaluator_config={})
    assert FtlineageEvaluator.can_evaluate(model_type="text", evaluator_config={"suite": "x"})
