"""Score a model on a suite's held-out set and drift suite: generate, then the suite's scorers."""

from __future__ import annotations

from collections.abc import Sequence

from ftlineage.models import generate
from ftlineage.scoring import CaseScore, merge_metrics
from ftlineage.suites import Suite
from ftlineage.tasks import Case, aggregate, score_part


def _limit(cases: Sequence[Case], limit: int | None) -> Sequence[Case]:
    return cases if limit is None else cases[:limit]


def evaluate_model(
    model: object, tokenizer: object, suite: Suite, template: str, *, limit: int | None = None
) -> tuple[dict[str, float], list[CaseScore]]:
    """Held-out (with the recipe's prompt template) and drift (with the drift part's template).

    Returns the aggregated metrics, plus ``latency/ms_per_case``, and every case score.
    """
    held = _limit(suite.heldout, limit)
    drift = _limit(suite.drift, None if limit is None else limit * 2)
    cases: list[CaseScore] = []
    metrics: dict[str, float] = {}
    if held:
        held_out, held_spc = generate(
            model,
            tokenizer,
            [template.replace("{prompt}", c.input_text) for c in held],
            max_new_tokens=suite.max_new_tokens("heldout"),
        )
        cases += score_part(suite.plan, "heldout", held, held_out)
        metrics["latency/ms_per_case"] = held_spc * 1000.0
    if drift:
        drift_template = suite.spec("drift").template
        drift_out, _ = generate(
            model,
            tokenizer,
            [drift_template.replace("{prompt}", c.input_text) for c in drift],
            max_new_tokens=suite.max_new_tokens("drift"),
        )
        cases += score_part(suite.plan, "drift", drift, drift_out)
    return merge_metrics(aggregate(cases, suite.plan), metrics), cases
