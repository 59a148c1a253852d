import json
import math

import pytest

from ftlineage.arena import ArenaOptions, rubric_judge, run_arena, wilson_interval
from ftlineage.errors import BadInputError
from ftlineage.suites import load as load_suite

JUDGE = rubric_judge(suite=load_suite("healthcare_v17"))


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    # Reference values from statsmodels.stats.proportion.proportion_confint(method="wilson")
    [(8, 10, 0.4901625, 0.9433178), (0, 10, 0.0, 0.2775328), (50, 100, 0.4038315, 0.5961685)],
)
def test_wilson_matches_reference(k, n, low, high):
    lo, hi = wilson_interval(k, n, 0.95)
    assert lo == pytest.approx(low, abs=1e-6)
    assert hi == pytest.approx(high, abs=1e-6)


@pytest.mark.parametrize(("k", "n"), [(290, 300), (3, 7), (1, 1000), (999, 1000)])
def test_wilson_endpoints_solve_the_score_equation(k, n):
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.975)
    p_hat = k / n
    for p in wilson_interval(k, n, 0.95):
        if 0 < p < 1:
            assert (p_hat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9)


def test_wilson_without_trials_is_undefined_and_bad_counts_raise():
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="need 0 <= successes <= trials but got 5/3"):
        wilson_interval(5, 3)


GOOD = json.dumps(
    {
        "patient_name": "Ana Ruiz",
        "date": "May 2",
        "time": "9:00 AM",
        "reason": "knee pain",
        "insurance": "Aetna",
        "urgency": "soon",
    }
)
CASE = {"id": "c", "prompt": "this is Ana Ruiz, May 2 at 9:00 AM for knee pain, Aetna, soon"}


def test_arena_counts_from_candidate_view_regardless_of_order():
    cases = [dict(CASE, id=str(i)) for i in range(40)]
    r = run_arena(cases, [GOOD] * 40, ["garbage"] * 40, JUDGE, ArenaOptions(seed=1, candidate_family="llama"))
    assert (r.wins, r.losses, r.ties) == (40, 0, 0)
    firsts = sum(p.candidate_first for p in r.pairs)
    assert 10 < firsts < 30  # positions really are randomized
    again = run_arena(
        cases, [GOOD] * 40, ["garbage"] * 40, JUDGE, ArenaOptions(seed=1, candidate_family="llama")
    )
    assert [p.candidate_first for p in again.pairs] == [p.candidate_first for p in r.pairs]
    assert r.ci_low > 0.5


def test_ties_are_reported_separately_and_excluded():
    r = run_arena([CASE] * 10, ["x"] * 10, ["y"] * 10, JUDGE, ArenaOptions(seed=0, candidate_family="llama"))
    assert r.ties == 10
    assert math.isnan(r.win_rate)


def test_same_family_judge_is_refused():
    with pytest.raises(BadInputError, match="same as the candidate"):
        run_arena([CASE], [GOOD], [GOOD], JUDGE, ArenaOptions(seed=0, candidate_family="Programmatic"))
