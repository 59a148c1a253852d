"""Why did a metric move between two runs? Changed SHAs, metric deltas, flipped cases (pure).

Lineage keys are split into *inputs* (what a person changed: prompt, data, suite, judge,
code, base model), the *recipe* that bundles several of them, and *derived* values (the
trained weights), so a prompt edit reads as "prompt changed", not as "everything changed".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ftlineage.scoring import CaseScore, stratified_draws
from ftlineage.tasks import ScoringPlan, aggregate_any, plan_of, primary_of_case

INPUT_KEYS = (
    "prompt_sha",
    "dataset_sha",
    "corpus_sha",
    "suite_sha",
    "judge_sha",
    "code_sha",
    "base_model_sha",
)
BUNDLE_KEYS = ("recipe_sha",)
DERIVED_KEYS = ("model_sha",)


class RunSnapshot(BaseModel):
    """What one run recorded: lineage SHAs, metrics and per-case scores of the chosen model."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    shas: dict[str, str]
    metrics: dict[str, float]
    cases: tuple[CaseScore, ...]
    prompts: dict[str, str] = {}
    plan: dict[str, Any] | None = None  # how the cases aggregate (the suite's scoring plan)


class MetricDelta(BaseModel):
    """B − A for one metric, with a paired bootstrap interval when per-case scores allow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    a: float | None
    b: float | None
    delta: float | None
    interval: tuple[float, float] | None


class Flip(BaseModel):
    """A case that passed in one run and failed in the other."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    part: str
    family: str
    direction: str
    prompt: str
    output_a: str
    output_b: str


class RunDiff(BaseModel):
    """The whole comparison. Bump ``schema_version`` on field changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    run_a: str
    run_b: str
    changed_inputs: dict[str, tuple[str | None, str | None]]
    changed_other: dict[str, tuple[str | None, str | None]]
    unchanged: tuple[str, ...]
    metrics: tuple[MetricDelta, ...]
    flips: tuple[Flip, ...]


def case_passed(case: CaseScore, plan: ScoringPlan | None) -> bool | None:
    """Pass/fail of one case: a full primary score of the part's first scorer (drift: the family's).

    Without a plan (an old score file): ``score``, else ``exact_match``, when present.
    """
    if plan is not None:
        value = primary_of_case(plan, case)
    else:
        value = case.scores.get("score", case.scores.get("exact_match", math.nan))
    return None if math.isnan(value) else value >= 1.0


def _num(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _intervals(
    a: Sequence[CaseScore],
    b: Sequence[CaseScore],
    samples: int,
    seed: int,
    confidence: float,
    plan: ScoringPlan | None,
) -> dict[str, tuple[float, float]]:
    by_id = {c.id: c for c in b}
    pairs = [(c, by_id[c.id]) for c in a if c.id in by_id]
    if not pairs:
        return {}
    deltas: dict[str, list[float]] = {}
    for row in stratified_draws([x for x, _ in pairs], samples, seed):
        ma = aggregate_any([pairs[i][0] for i in row], plan)
        mb = aggregate_any([pairs[i][1] for i in row], plan)
        for name in ma.keys() & mb.keys():
            if not (math.isnan(ma[name]) or math.isnan(mb[name])):
                deltas.setdefault(name, []).append(mb[name] - ma[name])
    tail = (1 - confidence) / 2
    return {
        k: (float(np.quantile(v, tail)), float(np.quantile(v, 1 - tail)))
        for k, v in deltas.items()
        if len(v) >= samples // 2
    }


def _flips(a: RunSnapshot, b: RunSnapshot) -> list[Flip]:
    by_id = {c.id: c for c in b.cases}
    plan_a, plan_b = plan_of(a.plan), plan_of(b.plan)
    out = []
    for ca in a.cases:
        cb = by_id.get(ca.id)
        pa, pb = case_passed(ca, plan_a), (case_passed(cb, plan_b) if cb else None)
        if cb is None or pa is None or pb is None or pa == pb:
            continue
        out.append(
            Flip(
                id=ca.id,
                part=ca.part,
                family=ca.family,
                direction="pass→fail" if pa else "fail→pass",
                prompt=a.prompts.get(ca.id) or b.prompts.get(ca.id, ""),
                output_a=ca.output,
                output_b=cb.output,
            )
        )
    return sorted(out, key=lambda f: (f.direction != "pass→fail", f.part, f.id))


def diff_runs(
    a: RunSnapshot, b: RunSnapshot, *, samples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> RunDiff:
    """Compare run B against run A."""
    keys = sorted(a.shas.keys() | b.shas.keys())
    changed = {k: (a.shas.get(k), b.shas.get(k)) for k in keys if a.shas.get(k) != b.shas.get(k)}
    intervals = _intervals(a.cases, b.cases, samples, seed, confidence, plan_of(b.plan or a.plan))
    metrics = []
    for name in sorted(a.metrics.keys() | b.metrics.keys()):
        va, vb = _num(a.metrics.get(name)), _num(b.metrics.get(name))
        delta = vb - va if va is not None and vb is not None else None
        metrics.append(MetricDelta(name=name, a=va, b=vb, delta=delta, interval=intervals.get(name)))
    return RunDiff(
        run_a=a.run_id,
        run_b=b.run_id,
        changed_inputs={k: v for k, v in changed.items() if k in INPUT_KEYS},
        changed_other={k: v for k, v in changed.items() if k not in INPUT_KEYS},
        unchanged=tuple(k for k in keys if k not in changed),
        metrics=tuple(metrics),
        flips=tuple(_flips(a, b)),
    )
