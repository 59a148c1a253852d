"""The rule's statistical mode: a paired, stratified bootstrap over per-case scores.

Both models answered the same cases, so each resample draws case ids (within each suite
part, keeping the parts' sizes) and recomputes every metric for both models on that draw.
A metric blocks only when the one-sided lower bound of its regression lies beyond the
threshold: a dip that noise explains passes, a regression the data is sure of blocks.
"""

from __future__ import annotations

import math

import numpy as np

from ftlineage.gate.rule import Check, check_metric
from ftlineage.recipe import GateSpec, MetricRule
from ftlineage.scoring import SuiteScores, stratified_draws
from ftlineage.tasks import aggregate_any, plan_of


def _regression(rule: MetricRule, cand: float, base: float) -> float:
    """Relative regression (positive = worse); absolute when the baseline is 0."""
    worse_by = (base - cand) if rule.direction == "higher" else (cand - base)
    return worse_by / abs(base) if base else worse_by


def paired_checks(
    spec: GateSpec, candidate: SuiteScores, baseline: SuiteScores, *, strict: bool = False
) -> dict[str, Check]:
    """One bootstrap check per tracked metric that both score files have per-case values for.

    Lenient (the default): block only when the interval's lower bound of the regression lies
    beyond the threshold. ``strict``: block unless its upper bound lies within it.
    """
    base_by_id = {c.id: c for c in baseline.cases}
    pairs = [(c, base_by_id[c.id]) for c in candidate.cases if c.id in base_by_id]
    if not pairs:
        return {}
    draws = stratified_draws([c for c, _ in pairs], spec.bootstrap_samples, spec.seed)
    plan = plan_of(candidate.plan or baseline.plan)
    rules = {m.name: m for m in spec.metrics or ()}
    regs: dict[str, list[float]] = {name: [] for name in rules}
    for row in draws:
        cand = aggregate_any([pairs[i][0] for i in row], plan)
        base = aggregate_any([pairs[i][1] for i in row], plan)
        for name, rule in rules.items():
            c, b = cand.get(name, math.nan), base.get(name, math.nan)
            if not (math.isnan(c) or math.isnan(b)):
                regs[name].append(_regression(rule, c, b))
    out = {}
    for name, values in regs.items():
        if len(values) < spec.bootstrap_samples // 2:
            continue  # no per-case values (e.g. latency): the point check stands
        out[name] = _check(spec, rules[name], candidate, baseline, np.array(values), strict)
    return out


def _check(
    spec: GateSpec,
    rule: MetricRule,
    candidate: SuiteScores,
    baseline: SuiteScores,
    regs: np.ndarray,
    strict: bool = False,
) -> Check:
    alpha = 1 - spec.bootstrap_confidence
    lo, hi = (float(x) for x in np.quantile(regs, [alpha, 1 - alpha]))
    point = check_metric(
        rule, candidate.metrics.get(rule.name), baseline.metrics.get(rule.name), spec.max_regression
    )
    if point.candidate is None or point.baseline is None:
        return point  # missing values are decided by the point rule
    limit = spec.max_regression if point.baseline else (rule.max_abs or 0.0)
    bound, side = (hi, "upper") if strict else (lo, "lower")
    ok = bound <= limit + 1e-12
    pct = int(round(spec.bootstrap_confidence * 100))
    return point.model_copy(
        update={
            "passed": ok,
            "interval": (lo, hi),
            "reason": f"{point.reason}; paired bootstrap ({spec.bootstrap_samples} draws, seed "
            f"{spec.seed}): regression {pct}% one-sided {side} bound {bound:.2%}, "
            f"{'not ' if ok else ''}beyond the {limit:.2%} allowed",
        }
    )
