import math

import numpy as np
import pytest

from ftlineage.arena import bootstrap_interval, plan_comparisons, wilson_interval


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (57, 100), (100, 100), (316, 316), (1, 2)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_equals_statsmodels(k, n, confidence):
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    ours = wilson_interval(k, n, confidence)
    assert ours == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(("wins", "losses"), [(60, 40), (30, 10), (95, 5)])
def test_bootstrap_agrees_with_scipy_within_monte_carlo_error(wins, losses):
    from scipy.stats import bootstrap

    data = np.array([1] * wins + [0] * losses, dtype=float)
    ref = bootstrap(
        (data,),
        np.mean,
        confidence_level=0.95,
        n_resamples=20000,
        method="percentile",
        random_state=np.random.default_rng(1),
    ).confidence_interval
    low, high = bootstrap_interval(data.astype(int).tolist(), 0.95, samples=20000, seed=3)
    # Monte-Carlo error of a 2.5% quantile at 20k resamples is a small part of the standard error;
    # the bootstrap means live on a 1/n grid, so quantile conventions may differ by one step.
    se = math.sqrt(data.mean() * (1 - data.mean()) / len(data))
    tol = 0.1 * se + 1 / len(data)
    assert abs(low - ref.low) <= tol
    assert abs(high - ref.high) <= tol


def test_bootstrap_is_seeded_and_empty_is_undefined():
    assert bootstrap_interval([1, 0, 1, 1], seed=5) == bootstrap_interval([1, 0, 1, 1], seed=5)
    assert all(math.isnan(x) for x in bootstrap_interval([]))


def test_plan_matches_the_normal_approximation_and_grows_with_undecided():
    assert plan_comparisons(0.1) == 194  # ((1.96*0.5 + 0.8416*sqrt(0.24)) / 0.1)^2 = 193.9
    assert plan_comparisons(0.1, undecided=0.5) == 388
    assert plan_comparisons(0.05) > 3 * plan_comparisons(0.1)
    with pytest.raises(ValueError, match="effect"):
        plan_comparisons(0.6)
