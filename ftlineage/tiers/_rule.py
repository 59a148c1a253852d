"""The rule a tier passes by, against the full-precision candidate it was quantized from (pure).

Default "recovery": every tracked metric keeps ``1 - max_loss`` of its full-precision value,
judged on a paired, stratified bootstrap over the cases both answered (the interval is on the
difference, so two models that fail the same hard cases are not penalised twice); no drift
family loses more than ``drift_fail_points``; in the arena the tier is not reliably worse than
full precision; optional KL / top-1 floors. Latency is reported, never gated: a tier's point
is its size, and CPU kernels for low-bit weights are often slower than fp32 ones.
"""

from __future__ import annotations

import math
from typing import Literal

from ftlineage.arena import ArenaResult
from ftlineage.gate import Check, GateDecision, check_digest, check_metric, paired_checks
from ftlineage.recipe import GateSpec, MetricRule
from ftlineage.scoring import SuiteScores, drift_bands
from ftlineage.tiers._fidelity import Fidelity
from ftlineage.tiers._spec import TierGateSpec

UNGATED_PREFIXES = ("latency/",)


def tier_rule(spec: TierGateSpec, gate: GateSpec) -> GateSpec:
    """The job's rule restated for a tier: its tracked metrics (latency aside), the tier's loss and bounds."""
    metrics = tuple(m for m in gate.metrics or () if not m.name.startswith(UNGATED_PREFIXES))
    return GateSpec(
        max_regression=spec.max_loss,
        metrics=metrics,
        drift_noise_points=min(gate.drift_noise_points, spec.drift_fail_points),
        drift_fail_points=spec.drift_fail_points,
        mode="bootstrap",
        bootstrap_samples=spec.bootstrap_samples,
        bootstrap_confidence=spec.confidence,
        seed=spec.seed,
    )


def points_lost(rule: MetricRule, tier: float, full: float) -> float:
    """Points (×100) the tier is worse by; negative when it is better."""
    worse = (full - tier) if rule.direction == "higher" else (tier - full)
    return worse * 100.0


def _lost_text(lost: float) -> str:
    if round(lost, 1) == 0:
        return "no points lost"
    return f"{lost:.1f} points lost" if lost > 0 else f"{-lost:.1f} points gained"


def _metric_check(rule: MetricRule, check: Check, tier_name: str, max_loss: float) -> Check:
    tier, full = check.candidate, check.baseline
    if tier is None or full is None or math.isnan(tier) or math.isnan(full):
        return check
    lost = points_lost(rule, tier, full)
    if rule.direction == "higher":
        share = f"{tier / full:.1%} recovered, " if full else ""
        allowed = f"{share}{1 - max_loss:.0%} of full precision required"
    else:
        allowed = f"at most {1 + max_loss:.0%} of full precision allowed" if full else "full precision is 0"
    head = f"tier {tier_name}: {rule.name} {tier:.4f} vs full precision {full:.4f}, {_lost_text(lost)}"
    head += f" ({allowed})"
    detail = check.reason.split("; paired bootstrap", 1)
    tail = f"; paired bootstrap{detail[1]}" if len(detail) == 2 else ""
    return check.model_copy(update={"reason": head + tail})


def _drift_checks(rule: GateSpec, reference: SuiteScores, tier: SuiteScores, tier_name: str) -> list[Check]:
    bands = drift_bands(
        reference.metrics, tier.metrics, noise=rule.drift_noise_points, fail=rule.drift_fail_points
    )
    return [
        Check(
            name=f"drift/{b.family}",
            kind="drift",
            passed=b.band not in ("fail", "unscored"),
            candidate=b.candidate,
            baseline=b.base,
            threshold=rule.drift_fail_points,
            reason=f"tier {tier_name}: drift/{b.family} {b.candidate:.3f} vs full precision {b.base:.3f}, "
            f"{_lost_text(b.drop_points)} ({b.band}; losing more than {rule.drift_fail_points:g} fails)",
        )
        for b in bands
    ]


def check_tier_arena(arena: ArenaResult, upper_bound: float, tier_name: str) -> Check:
    """The tier must not be reliably worse than full precision: the interval's top reaches ``upper_bound``."""
    decisive = arena.wins + arena.losses
    if arena.inconclusive:
        ok, verdict = False, f"inconclusive: {arena.unscored_rate:.1%} of pairs unscored"
    elif decisive == 0:
        ok, verdict = True, "no decisive pair: the tier answers as full precision does"
    else:
        ok = not math.isnan(arena.ci_high) and arena.ci_high >= upper_bound
        pct = int(round(arena.confidence * 100))
        verdict = (
            f"win rate {arena.win_rate:.3f}, {pct}% Wilson [{arena.ci_low:.3f}, {arena.ci_high:.3f}] "
            f"{'reaches' if ok else 'lies below'} {upper_bound} (reliably worse blocks)"
        )
    return Check(
        name="arena/win_rate",
        kind="arena",
        passed=ok,
        candidate=arena.win_rate,
        threshold=upper_bound,
        interval=(arena.ci_low, arena.ci_high),
        reason=f"tier {tier_name} vs full precision in the arena: W/L/T {arena.wins}/{arena.losses}/"
        f"{arena.ties} ({arena.unscored} unscored): {verdict}",
    )


def _fidelity_checks(spec: TierGateSpec, fid: Fidelity | None, tier_name: str) -> list[Check]:
    """The optional floors: ``max_kl`` on mean KL, ``min_top1`` on top-1 agreement (unmeasured fails)."""
    floors = (
        ("mean_kl", "mean next-token KL", spec.max_kl, "ceiling"),
        ("top1_agreement", "top-1 agreement", spec.min_top1, "floor"),
    )
    out = []
    for field, label, limit, kind in floors:
        if limit is None:
            continue
        value = getattr(fid, field) if fid else math.nan
        ok = not math.isnan(value) and (value <= limit if kind == "ceiling" else value >= limit)
        out.append(
            Check(
                name=f"fidelity/{field}",
                kind="fidelity",
                passed=ok,
                candidate=value,
                threshold=limit,
                reason=f"tier {tier_name}: {label} {value:.4f} against full precision "
                f"({'within' if ok else 'beyond'} the {kind} {limit:g})",
            )
        )
    return out


def _unscored(scores: SuiteScores, name: str) -> bool:
    value = scores.metrics.get(name)
    return value is None or math.isnan(value)


def _both_unscored(rule: MetricRule, tier_name: str) -> Check:
    """Full precision produced no value either (e.g. no JSON to check): nothing was lost."""
    return Check(
        name=rule.name,
        kind="metric",
        passed=True,
        reason=f"tier {tier_name}: {rule.name} is unscored for full precision and the tier alike; "
        "nothing to lose",
    )


def decide_tier(
    spec: TierGateSpec,
    gate: GateSpec,
    tier_name: str,
    reference: SuiteScores,
    tier: SuiteScores,
    arena: ArenaResult | None,
    fid: Fidelity | None,
    lineage: dict[str, str],
) -> GateDecision:
    """The tier's decision (stage ``tier``): passes only when every check passes."""
    rule = tier_rule(spec, gate)
    paired = paired_checks(rule, tier, reference, strict=spec.bound == "strict")

    checks = [check_digest(tier.suite_sha, reference.suite_sha)]
    for m in rule.metrics or ():
        if _unscored(reference, m.name) and _unscored(tier, m.name):
            checks.append(_both_unscored(m, tier_name))
            continue
        check = paired.get(m.name) or check_metric(
            m, tier.metrics.get(m.name), reference.metrics.get(m.name), spec.max_loss
        )
        checks.append(_metric_check(m, check, tier_name, spec.max_loss))
    checks += _drift_checks(rule, reference, tier, tier_name)
    if spec.arena and arena is not None:
        checks.append(check_tier_arena(arena, spec.arena_upper_bound, tier_name))
    checks += _fidelity_checks(spec, fid, tier_name)
    verdict: Literal["pass", "blocked"] = "pass" if all(c.passed for c in checks) else "blocked"
    return GateDecision(decision=verdict, stage="tier", checks=tuple(checks), lineage=lineage)
