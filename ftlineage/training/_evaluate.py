"""Score a model on a suite's held-out set and drift suite: generate, then the suite's scorers."""

from __future__ import annotations

from collections.abc import Sequence

from ftlineage.models import Generator, HFGenerator, PromptFormat, Source
from ftlineage.scoring import CaseScore, merge_metrics
from ftlineage.suites import Suite
from ftlineage.tasks import Case, aggregate, score_part


def _limit(cases: Sequence[Case], limit: int | None) -> Sequence[Case]:
    return cases if limit is None else cases[:limit]


def case_source(case: Case) -> Source:
    """What a case asks: its turns when it has ``messages`` (a chat model sees turns), else its prompt."""
    return case.messages if case.messages is not None else str(case.prompt)


def evaluate_model(
    model: object,
    tokenizer: object,
    suite: Suite,
    fmt: PromptFormat | str,
    *,
    limit: int | None = None,
    drift_limit: int | None = None,
    generator: Generator | None = None,
) -> tuple[dict[str, float], list[CaseScore]]:
    """Held-out (in the recipe's prompt format) and drift (with the drift part's text template).

    ``generator`` defaults to in-process ``hf`` generation from ``model``; the tokenizer renders
    chat templates whichever backend generates. ``limit`` caps held-out cases, ``drift_limit``
    drift cases (default: twice ``limit``). Returns the aggregated metrics, plus
    ``latency/ms_per_case``, and every case score. Regression parts (frozen failure clusters)
    are scored whole: in the recipe's format, or with their own template when family-scored.
    """
    fmt = PromptFormat(template=fmt) if isinstance(fmt, str) else fmt
    gen = generator or HFGenerator(model, tokenizer, add_special_tokens=fmt.add_special_tokens)
    held = _limit(suite.heldout, limit)
    drift = _limit(
        suite.drift, drift_limit if drift_limit is not None else None if limit is None else limit * 2
    )
    cases: list[CaseScore] = []
    metrics: dict[str, float] = {}
    if held:
        prompts = fmt.render_all(tokenizer, [case_source(c) for c in held])
        held_out, held_spc = gen.generate(prompts, max_new_tokens=suite.max_new_tokens("heldout"))
        cases += score_part(suite.plan, "heldout", held, held_out)
        metrics["latency/ms_per_case"] = held_spc * 1000.0
    if drift:
        drift_fmt = fmt.with_template(suite.spec("drift").template)
        prompts = drift_fmt.render_all(tokenizer, [case_source(c) for c in drift])
        drift_out, _ = gen.generate(prompts, max_new_tokens=suite.max_new_tokens("drift"))
        cases += score_part(suite.plan, "drift", drift, drift_out)
    for part in suite.regression_parts():  # frozen failure clusters: every case, every checkpoint
        spec, frozen = suite.spec(part), suite.cases(part)
        part_fmt = fmt.with_template(spec.template) if spec.families else fmt
        prompts = part_fmt.render_all(tokenizer, [case_source(c) for c in frozen])
        outputs, _ = gen.generate(prompts, max_new_tokens=spec.max_new_tokens)
        cases += score_part(suite.plan, part, frozen, outputs)
    return merge_metrics(aggregate(cases, suite.plan), metrics), cases
