"""The promotion rule: one check per tracked metric, drift band and arena, each with reasons.

Edge cases, decided explicitly:
    * candidate value missing (NaN or absent): the check fails; nothing unscored passes.
    * baseline value missing: the check passes with the reason "no baseline value";
      there is nothing to regress against (e.g. a base model that produced no values).
    * baseline 0 and the candidate worse: relative regression is unbounded, the check fails.
    * arena with no decisive pair: the interval is undefined and the check fails.
    * candidate and baseline scored on different suite digests: nothing compares, the check fails;
    * a metric rule with ``max_abs``: a regression within that many metric units passes even
      when its relative size is larger (this is how a baseline of 0 can tolerate noise);
    * bootstrap mode: a metric blocks only when the one-sided lower bound of its paired
      bootstrap regression lies beyond the threshold; metrics without per-case values
      (latency) fall back to the point check, and say so;
    * arena with more unscored pairs than allowed (default 5%): inconclusive, the check fails.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ftlineage.arena import ArenaResult
from ftlineage.recipe import GateSpec, MetricRule
from ftlineage.scoring import DriftBand, Score, SuiteScores, drift_bands, format_points


class Check(BaseModel):
    """One check of the rule, explained."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Literal["metric", "drift", "arena", "audit", "suite", "fidelity"]
    passed: bool
    candidate: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    interval: tuple[Score, Score] | None = None  # (nan, nan) when nothing was decisive: null on disk
    reason: str


class GateDecision(BaseModel):
    """The gate's verdict. Written to disk: do not reorder fields without a version bump."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    decision: Literal["pass", "blocked"]
    stage: Literal["audit", "gate", "tier"]
    checks: tuple[Check, ...]
    lineage: dict[str, str]

    @property
    def failed(self) -> list[Check]:
        """Checks that did not pass."""
        return [c for c in self.checks if not c.passed]


def _nan(x: float | None) -> bool:
    return x is None or math.isnan(x)


def check_metric(rule: MetricRule, cand: float | None, base: float | None, max_rel: float) -> Check:
    """Relative-regression check of one tracked metric."""
    sign = 1.0 if rule.direction == "higher" else -1.0

    def make(passed: bool, reason: str, **values: float | None) -> Check:
        return Check(name=rule.name, kind="metric", threshold=max_rel, passed=passed, reason=reason, **values)

    if _nan(cand):
        return make(
            False, baseline=base, reason=f"{rule.name} is missing for the candidate (unscored); cannot pass"
        )
    if _nan(base):
        return make(
            True, candidate=cand, reason=f"{rule.name}={cand:.4f}; no baseline value to regress against"
        )
    assert cand is not None
    assert base is not None
    worse_by = sign * (base - cand)
    if worse_by <= 0:
        return make(
            True,
            candidate=cand,
            baseline=base,
            reason=f"{rule.name} {cand:.4f} vs baseline {base:.4f}: no regression",
        )
    if base == 0 and (rule.max_abs is None or worse_by > rule.max_abs + 1e-12):
        return make(
            False,
            candidate=cand,
            baseline=base,
            reason=f"{rule.name} {cand:.4f} is worse than a baseline of 0; relative regression is unbounded",
        )
    rel = worse_by / abs(base) if base else math.inf
    ok = rel <= max_rel + 1e-12  # exactly at the threshold passes (float-safe)
    allowed = f"the {max_rel:.2%} allowed"
    if not ok and rule.max_abs is not None and worse_by <= rule.max_abs + 1e-12:
        ok, allowed = True, f"{max_rel:.2%} relative, but within the {rule.max_abs:g} absolute allowed"
    return make(
        ok,
        candidate=cand,
        baseline=base,
        reason=f"{rule.name} {cand:.4f} vs baseline {base:.4f}: regressed {rel:.2%} "
        f"({'within' if ok else 'beyond'} {allowed})",
    )


def check_drift(band: DriftBand, fail_points: float) -> Check:
    """A drift family passes unless it dropped more than ``fail_points`` (or is unscored)."""
    ok = band.band not in ("fail", "unscored")
    return Check(
        name=f"drift/{band.family}",
        kind="drift",
        passed=ok,
        candidate=band.candidate,
        baseline=band.base,
        threshold=fail_points,
        reason=f"drift/{band.family} {band.candidate:.3f} vs base {band.base:.3f}: "
        f"{format_points(-band.drop_points)} ({band.band}; losing more than "
        f"{fail_points:g} fails)",
    )


def check_arena(arena: ArenaResult, lower_bound: float) -> Check:
    """The arena interval's lower bound must lie above ``lower_bound``."""
    ok = not arena.inconclusive and not math.isnan(arena.ci_low) and arena.ci_low > lower_bound
    pct = int(round(arena.confidence * 100))
    verdict = "lies above" if ok else "does not lie above"
    if arena.inconclusive:
        verdict = f"is inconclusive: {arena.unscored_rate:.1%} of pairs unscored"
    return Check(
        name="arena/win_rate",
        kind="arena",
        passed=ok,
        candidate=arena.win_rate,
        threshold=lower_bound,
        interval=(arena.ci_low, arena.ci_high),
        reason=f"arena W/L/T {arena.wins}/{arena.losses}/{arena.ties} "
        f"({arena.unscored} unscored): win rate {arena.win_rate:.3f}, {pct}% Wilson "
        f"[{arena.ci_low:.3f}, {arena.ci_high:.3f}] "
        f"{verdict} {lower_bound}",
    )


def check_digest(candidate_sha: str, baseline_sha: str) -> Check:
    """Candidate and baseline must be scored on the same suite digest, or nothing compares."""
    ok = candidate_sha == baseline_sha
    reason = (
        f"candidate and baseline scored on the same suite digest {candidate_sha[:12]}"
        if ok
        else f"suite digest mismatch: candidate {candidate_sha[:12]}, baseline {baseline_sha[:12]}; "
        "re-score the baseline on the candidate's suite"
    )
    return Check(name="suite/digest", kind="suite", passed=ok, reason=reason)


def decide_scores(
    rule: GateSpec, candidate: SuiteScores, baseline: SuiteScores, arena: ArenaResult, lineage: dict[str, str]
) -> GateDecision:
    """The whole rule on two score files and an arena result, digest check first."""
    bands = drift_bands(
        baseline.metrics, candidate.metrics, noise=rule.drift_noise_points, fail=rule.drift_fail_points
    )
    decision = decide(rule, candidate.metrics, baseline.metrics, bands, arena, lineage)
    checks = [check_digest(candidate.suite_sha, baseline.suite_sha), *decision.checks]
    if rule.mode == "bootstrap":
        from ftlineage.gate._paired import paired_checks

        paired = paired_checks(rule, candidate, baseline)
        checks = [paired.get(c.name, c) if c.kind == "metric" else c for c in checks]
    verdict: Literal["pass", "blocked"] = "pass" if all(c.passed for c in checks) else "blocked"
    return decision.model_copy(update={"checks": tuple(checks), "decision": verdict})


def decide(
    rule: GateSpec,
    candidate: dict[str, float],
    baseline: dict[str, float],
    bands: list[DriftBand],
    arena: ArenaResult,
    lineage: dict[str, str],
) -> GateDecision:
    """Apply the whole rule; the decision passes only if every check passes."""
    checks = [
        check_metric(m, candidate.get(m.name), baseline.get(m.name), rule.max_regression)
        for m in rule.metrics or ()
    ]
    checks += [check_drift(b, rule.drift_fail_points) for b in bands]
    checks.append(check_arena(arena, rule.arena_lower_bound))
    verdict: Literal["pass", "blocked"] = "pass" if all(c.passed for c in checks) else "blocked"
    return GateDecision(decision=verdict, stage="gate", checks=tuple(checks), lineage=lineage)
