import math

import pytest

from ftlineage.arena import ArenaOptions, PairResult, RubricJudge
from ftlineage.arena._report import summarize
from ftlineage.gate import check_arena, check_metric, decide
from ftlineage.recipe import GateSpec, MetricRule
from ftlineage.scoring import drift_bands

HIGHER = MetricRule(name="m", direction="higher")
LOWER = MetricRule(name="m", direction="lower")


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
        RubricJudge(),
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
