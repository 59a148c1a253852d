"""Interval statistics for paired comparisons (pure, seeded where random)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Returns ``(nan, nan)`` for zero trials: no evidence is not an interval.
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials but got {successes}/{trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1) but got {confidence}")
    if trials == 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(
    outcomes: Sequence[int], confidence: float = 0.95, *, samples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Seeded percentile-bootstrap interval of the mean of 0/1 ``outcomes`` (``nan`` when empty)."""
    if not outcomes:
        return math.nan, math.nan
    import numpy as np

    data = np.asarray(outcomes, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(samples, len(data)))].mean(axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


MAX_PLANNED_PAIRS = 1e12


def plan_comparisons(
    effect: float, *, confidence: float = 0.95, power: float = 0.8, undecided: float = 0.0
) -> int:
    """Pairs needed so that a true win rate of ``0.5 + effect`` puts the interval above 0.5.

    Normal approximation of a one-sided test of p = 0.5 at the interval's level, with the given
    power; ``undecided`` is the expected share of ties and unscored pairs, which carry no signal.
    """
    if not 0 < effect < 0.5:
        raise ValueError(f"effect must lie in (0, 0.5) but got {effect}")
    if not 0 <= undecided < 1:
        raise ValueError(f"undecided must lie in [0, 1) but got {undecided}")
    for name, value in (("confidence", confidence), ("power", power)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie in (0, 1) but got {value}")
    z_a = NormalDist().inv_cdf(0.5 + confidence / 2)
    z_b = NormalDist().inv_cdf(power)
    p1 = 0.5 + effect
    ratio = (z_a * 0.5 + z_b * math.sqrt(p1 * (1 - p1))) / effect
    decisive = ratio**2 if abs(ratio) < 1e9 else math.inf  # a tiny effect would overflow the square
    if decisive / (1 - undecided) > MAX_PLANNED_PAIRS:
        raise ValueError(
            f"effect {effect} with {undecided:.0%} undecided needs over {MAX_PLANNED_PAIRS:.0e} pairs; "
            "plan for a larger effect"
        )
    return math.ceil(math.ceil(decisive) / (1 - undecided))


def length_controlled_win_rate(
    length_delta: Sequence[float], won: Sequence[int], *, ridge: float = 1.0
) -> float:
    """Win rate at zero length difference (AlpacaEval-style length control), ``nan`` when empty.

    Fits ``P(win) = sigmoid(a + b * tanh(delta / sd(delta)))`` by ridge-penalised Newton steps
    (deterministic; the penalty keeps a perfectly length-separated arena finite) and returns
    ``sigmoid(a)``: the win rate the candidate would have if its answers were as long as the
    baseline's. ``length_delta`` is candidate minus baseline characters per decisive pair.
    """
    if not won:
        return math.nan
    import numpy as np

    delta = np.asarray(length_delta, dtype=np.float64)
    scale = float(delta.std()) or 1.0
    x = np.column_stack([np.ones(len(delta)), np.tanh(delta / scale)])
    y = np.asarray(won, dtype=np.float64)
    w = np.zeros(2)
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + ridge * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    return float(1 / (1 + math.exp(-w[0])))
