"""deepeval interop, offline: our scorers as deepeval metrics, deepeval metrics as our scorers.

deepeval asks for an OpenAI key whenever a metric is built without a model; handing it
:func:`offline_model` (any ftlineage judge backend: a local HF model or an OpenAI-compatible
server on loopback) avoids that, and telemetry is switched off before deepeval is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ftlineage.arena import Backend
from ftlineage.errors import missing_dependency

CaseScorer = Callable[[dict[str, Any], str], float]


def _deepeval() -> Any:
    os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "1")
    os.environ.setdefault("DEEPEVAL_UPDATE_WARNING_OPT_IN", "0")
    try:
        import deepeval
    except ImportError:
        raise missing_dependency("deepeval", "deepeval interop") from None
    return deepeval


def offline_model(backend: Backend) -> Any:
    """A ``DeepEvalBaseLLM`` over an ftlineage backend; pass it as ``model=`` to any deepeval metric."""
    _deepeval()
    from deepeval.models.base_model import DeepEvalBaseLLM

    class BackendModel(DeepEvalBaseLLM):
        """deepeval's model interface over an ftlineage backend."""

        def __init__(self) -> None:
            self.backend = backend
            super().__init__(model=str(backend.params.get("model", "backend")))

        def load_model(self, *args: Any, **kwargs: Any) -> Any:
            return self.backend

        def generate(self, prompt: str, *args: Any, **kwargs: Any) -> str:
            return self.backend.complete(prompt)

        async def a_generate(self, prompt: str, *args: Any, **kwargs: Any) -> str:
            return self.backend.complete(prompt)

        def get_model_name(self, *args: Any, **kwargs: Any) -> str:
            return f"ftlineage:{self.name}"

    return BackendModel()


def as_scorer(metric: Any) -> CaseScorer:
    """A deepeval metric (GEval, hallucination, task completion, ...) as an ftlineage case scorer.

    The case's ``prompt`` becomes the input, ``reference``/``expected`` the expected output and
    ``context`` (a list of strings) the context; the score is the metric's, in [0, 1].
    """
    _deepeval()
    from deepeval.test_case import LLMTestCase

    def score(case: dict[str, Any], output: str) -> float:
        expected = case.get("reference", case.get("expected"))
        test_case = LLMTestCase(
            input=case["prompt"],
            actual_output=output,
            expected_output=None if expected is None else str(expected),
            context=case.get("context"),
            retrieval_context=case.get("context"),
        )
        metric.measure(test_case)
        return float(metric.score)

    return score


def as_metric(name: str, scorer: CaseScorer, *, threshold: float = 0.5) -> Any:
    """An ftlineage case scorer as a deepeval ``BaseMetric`` (no model, no network)."""
    _deepeval()
    from deepeval.metrics import BaseMetric

    class ScorerMetric(BaseMetric):
        """Runs an ftlineage scorer on a deepeval test case."""

        def __init__(self) -> None:
            self.threshold, self.async_mode, self.strict_mode = threshold, False, False
            self.evaluation_model, self.include_reason = "ftlineage", False

        def measure(self, test_case: Any, *args: Any, **kwargs: Any) -> float:
            case = {"prompt": test_case.input, "reference": test_case.expected_output}
            value = scorer(case, test_case.actual_output or "")
            self.score, self.success = value, value >= threshold
            return value

        async def a_measure(self, test_case: Any, *args: Any, **kwargs: Any) -> float:
            return self.measure(test_case)

        def is_successful(self) -> bool:
            return bool(self.success)

        @property
        def __name__(self) -> str:  # deepeval reads the metric's display name here
            return name

    return ScorerMetric()


def suite_scorer(name: str, **options: Any) -> CaseScorer:
    """Any registered ftlineage scorer (its primary score) as a case scorer for :func:`as_metric`.

    ``as_metric("tool_call", suite_scorer("tool_call"))``; an unscorable case scores 0 there,
    since deepeval metrics have no "unscored".
    """
    import math

    from ftlineage.tasks import ScorerSpec, build_scorer, case_from_row, primary

    scorer = build_scorer(ScorerSpec(name=name, options=options))

    def score(case: dict[str, Any], output: str) -> float:
        typed = case_from_row({"id": "deepeval", **case}, "deepeval case")
        value = primary(scorer, scorer.score(typed, output))
        return 0.0 if math.isnan(value) else float(value)

    return score
