import math

import pytest

from ftlineage.arena import ArenaOptions, PairResult, rubric_judge
from ftlineage.arena._report import summarize
from ftlineage.gate import check_arena, check_metric, decide
from ftlineage.recipe import GateSpec, MetricRule
from ftlineage.scoring import drift_bands
from ftlineage.suites import load as load_suite

HIGHER = MetricRule(name="m", direction="higher")
LOWER = MetricRule(name="m", direction="lower")

JUDGE = rubric_judge(suite=load_suite("healthcare_v17"))


@pytest.mark.parametrize(
    ("rule", "cand", "base", "passed"),
    [
        (HIGHER, 0.995, 1.0, True),  # 0.5% regression
        (HIGHER, 0.99, 1.0, True),  # exactly 1%
        (HIGHER, 0.985, 1.0, False),  # 1.5%
        (LOWER, 1.005, 1.0, True),
        (LOWER, 1.01, 1.0, True),
        (LOWER, 1.015, 1.0, False),
        (HIGHER, 2.0, 1.0, True),  # improvement
        (HIGHER, 0.0, 0.0, True),  # baseline 0, no change
        (LOWER, 0.1, 0.0, False),  # baseline 0 and worse: unbounded
        (HIGHER, math.nan, 0.5, False),  # missing candidate
        (HIGHER, 0.5, math.nan, True),  # missing baseline
    ],
)
def test_metric_rule_table(rule, cand, base, passed):
    check = check_metric(rule, cand, base, 0.01)
    assert check.passed is passed, check.reason
    assert check.reason


def _arena(wins, losses, ties=0, unscored=0):
    outcomes = ["win"] * wins + ["loss"] * losses + ["tie"] * ties + ["unscored"] * unscored
    pairs = tuple(
        PairResult(
            id=str(i),
            candidate_first=True,
            outcome=o,
            judgements=(o,),
            reason="",
            candidate_chars=1,
            baseline_chars=1,
        )
        for i, o in enumerate(outcomes)
    )
    return summarize(
        pairs,
        JUDGE,
        ArenaOptions(seed=0, candidate_family="llama"),
        position_bias=0.5,
        cache_hits=0,
        judge_calls=len(pairs),
        warnings=[],
    )


@pytest.mark.parametrize(("wins", "losses", "passed"), [(60, 40, True), (59, 41, False), (0, 0, False)])
def test_arena_interval_must_lie_above_half(wins, losses, passed):
    assert check_arena(_arena(wins, losses), 0.5).passed is passed


def test_arena_with_too_many_unscored_is_inconclusive_and_blocks():
    ok = _arena(90, 5, unscored=5)  # 5% unscored: allowed
    assert not ok.inconclusive
    assert check_arena(ok, 0.5).passed
    bad = _arena(90, 4, unscored=6)
    check = check_arena(bad, 0.5)
    assert bad.inconclusive
    assert not check.passed
    assert "inconclusive" in check.reason


def test_decision_passes_only_when_every_check_passes():
    base = {"heldout/field_accuracy": 0.1, "drift/arithmetic": 0.5}
    good = {"heldout/field_accuracy": 0.9, "drift/arithmetic": 0.48}
    rule = GateSpec(metrics=(MetricRule(name="heldout/field_accuracy"),))
    bands = drift_bands(base, good, noise=1, fail=5)
    d = decide(rule, good, base, bands, _arena(90, 10), {"x": "y"})
    assert d.decision == "pass"
    assert len(d.checks) == 3
    forgot = {"heldout/field_accuracy": 0.9, "drift/arithmetic": 0.40}  # 10 points lost
    d = decide(rule, forgot, base, drift_bands(base, forgot, noise=1, fail=5), _arena(90, 10), {})
    assert d.decision == "blocked"
    assert [c.name for c in d.failed] == ["drift/arithmetic"]
    assert "-10.0 points (fail" in d.failed[0].reason


@pytest.mark.parametrize(("ci_low", "passed"), [(0.5001, True), (0.5, False), (0.4999, False)])
def test_interval_just_above_and_below_half(ci_low, passed):
    arena = _arena(90, 10).model_copy(update={"ci_low": ci_low})
    assert check_arena(arena, 0.5).passed is passed


def test_suite_digest_mismatch_blocks_with_a_reason():
    from ftlineage.gate import decide_scores
    from ftlineage.scoring import SuiteScores

    base = SuiteScores(
        suite_sha="a" * 64, model_label="baseline", metrics={"heldout/field_accuracy": 0.5}, cases=()
    )
    cand = base.model_copy(update={"model_label": "candidate"})
    rule = GateSpec(metrics=(MetricRule(name="heldout/field_accuracy"),))
    assert decide_scores(rule, cand, base, _arena(90, 10), {}).decision == "pass"
    other = cand.model_copy(update={"suite_sha": "b" * 64})
    d = decide_scores(rule, other, base, _arena(90, 10), {})
    assert d.decision == "blocked"
    assert [c.name for c in d.failed] == ["suite/digest"]
    assert "re-score the baseline" in d.failed[0].reason


@pytest.mark.parametrize(
    ("cand", "base", "max_abs", "passed"),
    [
        (0.97, 1.0, None, False),  # 3% relative
        (0.97, 1.0, 0.05, True),  # but within 0.05 absolute
        (0.94, 1.0, 0.05, False),
        (0.0, 0.02, 0.05, True),  # baseline near 0: absolute tolerance decides
    ],
)
def test_absolute_tolerance(cand, base, max_abs, passed):
    check = check_metric(MetricRule(name="m", max_abs=max_abs), cand, base, 0.01)
    assert check.passed is passed, check.reason


def test_lower_is_better_baseline_zero_within_absolute_tolerance_passes():
    rule = MetricRule(name="m", direction="lower", max_abs=0.01)
    assert check_metric(rule, 0.005, 0.0, 0.01).passed
    assert not check_metric(rule, 0.02, 0.0, 0.01).passed


def _scores(label, accuracies):
    from ftlineage.scoring import CaseScore, SuiteScores
    from ftlineage.tasks import aggregate

    plan = load_suite("healthcare_v17").plan

    cases = tuple(
        CaseScore(
            id=f"c{i}",
            part="heldout",
            family="x",
            output="",
            scores={"field_accuracy": a, "json_valid": 1.0, "exact_match": a, "produced": 1, "grounded": 1},
        )
        for i, a in enumerate(accuracies)
    )
    return SuiteScores(
        suite_sha="s" * 64,
        model_label=label,
        metrics=aggregate(cases, plan),
        cases=cases,
        plan=plan.model_dump(mode="json", by_alias=True),
    )


def test_bootstrap_mode_passes_noise_and_blocks_a_sure_regression():
    import random

    from ftlineage.gate import decide_scores

    rng = random.Random(0)
    base = [rng.choice([0.0, 1.0]) for _ in range(200)]
    # One case flipped from pass to fail: 1/~100 = ~1% point regression, well inside the noise.
    noisy = list(base)
    noisy[base.index(1.0)] = 0.0
    # A third of the passing cases fail: a regression no resample explains away.
    worse = [0.0 if (a and i % 3 == 0) else a for i, a in enumerate(base)]
    rules = (MetricRule(name="heldout/field_accuracy"),)
    point = GateSpec(metrics=rules)
    boot = GateSpec(metrics=rules, mode="bootstrap", bootstrap_samples=300)
    arena = _arena(90, 10)
    b = _scores("baseline", base)
    assert decide_scores(point, _scores("c", noisy), b, arena, {}).decision == "blocked"
    d = decide_scores(boot, _scores("c", noisy), b, arena, {})
    assert d.decision == "pass", [c.reason for c in d.checks]
    acc = next(c for c in d.checks if c.name == "heldout/field_accuracy")
    assert acc.interval is not None
    assert acc.interval[0] < 0.01 < acc.interval[1]
    assert "paired bootstrap" in acc.reason
    d = decide_scores(boot, _scores("c", worse), b, arena, {})
    assert [c.name for c in d.failed] == ["heldout/field_accuracy"]
    # Seeded: the same inputs give the same interval.
    again = decide_scores(boot, _scores("c", noisy), b, arena, {})
    assert again.checks == decide_scores(boot, _scores("c", noisy), b, arena, {}).checks


def test_bootstrap_mode_keeps_point_checks_for_metrics_without_cases():
    from ftlineage.gate import decide_scores

    rules = (MetricRule(name="heldout/field_accuracy"), MetricRule(name="latency/ms", direction="lower"))
    spec = GateSpec(metrics=rules, mode="bootstrap", bootstrap_samples=200)
    b = _scores("b", [1.0, 0.0] * 20)
    b = b.model_copy(update={"metrics": {**b.metrics, "latency/ms": 10.0}})
    c = b.model_copy(update={"metrics": {**b.metrics, "latency/ms": 12.0}})
    d = decide_scores(spec, c, b, _arena(90, 10), {})
    assert [x.name for x in d.failed] == ["latency/ms"]
    assert "paired bootstrap" not in d.failed[0].reason
