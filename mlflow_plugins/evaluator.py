"""The ``ftlineage`` model evaluator for ``mlflow.models.evaluate``.

    mlflow.models.evaluate(model_uri, data, model_type="text", evaluators=["ftlineage"],
                           evaluator_config={"suite": "healthcare_v17"})

scores the model on the locked suite (held-out in the model's prompt format, chat template
included; drift with the suite's text template inside it) and returns and logs the suite
metrics, tagged with the suite digest.
The suite defines the cases; ``data`` is what MLflow requires and is not scored.
Config: ``suite`` (name or folder, required), ``limit`` (held-out cases; drift gets 2x).
"""

from __future__ import annotations

import time
from typing import Any

from mlflow.models.evaluation import EvaluationResult, ModelEvaluator

from ftlineage import tags as T


def _outputs(model: Any, suite: Any, limit: int | None) -> tuple[dict[str, float], list[Any]]:
    """Score through our pyfunc's HF model when it is one, else through ``predict``."""
    from ftlineage.tasks import aggregate, score_part
    from ftlineage.training import evaluate_model

    inner = model.unwrap_python_model() if hasattr(model, "unwrap_python_model") else None
    if inner is not None and hasattr(inner, "tokenizer"):
        fmt = getattr(inner, "fmt", None) or inner.template  # chat template included, when it has one
        return evaluate_model(inner.model, inner.tokenizer, suite, fmt, limit=limit)
    held = list(suite.heldout)[:limit] if limit else list(suite.heldout)
    drift = list(suite.drift)[: limit * 2] if limit else list(suite.drift)
    held_out = list(model.predict([c.input_text for c in held]))
    cases = score_part(suite.plan, "heldout", held, held_out)
    if drift:
        template = suite.spec("drift").template
        drift_out = list(model.predict([template.replace("{prompt}", c.input_text) for c in drift]))
        cases += score_part(suite.plan, "drift", drift, drift_out)
    return aggregate(cases, suite.plan), cases


class FtlineageEvaluator(ModelEvaluator):
    """Suite metrics for any pyfunc; the suite comes from ``evaluator_config["suite"]``."""

    @classmethod
    def can_evaluate(cls, *, model_type: Any, evaluator_config: dict[str, Any], **kwargs: Any) -> bool:
        """Any model type, as long as a suite is named."""
        return bool(evaluator_config and evaluator_config.get("suite"))

    def evaluate(
        self,
        *,
        model_type: Any,
        dataset: Any,
        run_id: str,
        evaluator_config: dict[str, Any],
        model: Any = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        """Score the suite, log metrics and the digest to ``run_id``, return the metrics."""
        from mlflow.entities import Metric, RunTag
        from mlflow.tracking import MlflowClient

        from ftlineage import suites
        from ftlineage.lineage import lineage_tags

        if model is None:
            raise ValueError("the ftlineage evaluator scores a model; pass one to mlflow.models.evaluate")
        suite = suites.load(str(evaluator_config["suite"]))
        metrics, _ = _outputs(model, suite, evaluator_config.get("limit"))
        finite = {k: float(v) for k, v in metrics.items() if v == v}
        now = int(time.time() * 1000)
        MlflowClient().log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in finite.items()],
            tags=[RunTag(k, v) for k, v in lineage_tags({"suite_sha": suite.sha}).items()]
            + [RunTag(T.SUITE, f"{suite.meta.name} v{suite.meta.version}")],
        )
        return EvaluationResult(metrics=finite, artifacts={}, run_id=run_id)
