"""Score a model on a suite's held-out set and drift suite: generate, then pure scorers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ftlineage.models import generate
from ftlineage.scoring import CaseScore, aggregate, merge_metrics, score_drift, score_heldout
from ftlineage.suites import Suite


def _limit(cases: Sequence[dict[str, Any]], limit: int | None) -> Sequence[dict[str, Any]]:
    return cases if limit is None else cases[:limit]


def evaluate_model(
    model: Any, tokenizer: Any, suite: Suite, template: str, *, limit: int | None = None
) -> tuple[dict[str, float], list[CaseScore]]:
    """Held-out (with the recipe's prompt template) and drift (with the suite's template).

    Returns the aggregated metrics, plus ``latency/ms_per_case``, and every case score.
    """
    held = _limit(suite.heldout, limit)
    drift = _limit(suite.drift, None if limit is None else limit * 2)
    held_out, held_spc = generate(
        model, tokenizer, [template.replace("{prompt}", c["prompt"]) for c in held],
        max_new_tokens=suite.meta.max_new_tokens["heldout"],
    )
    drift_out, _ = generate(
        model, tokenizer, [suite.meta.drift_template.format(prompt=c["prompt"]) for c in drift],
        max_new_tokens=suite.meta.max_new_tokens["drift"],
    )
    cases = score_heldout(held, held_out) + score_drift(drift, drift_out)
    metrics = merge_metrics(aggregate(cases), {"latency/ms_per_case": held_spc * 1000.0})
    return metrics, cases
