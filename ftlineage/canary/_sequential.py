"""Anytime-valid confidence sequences (pure): watch continuously without inflating false alarms.

The normal-mixture boundary of Howard, Ramdas, McAuliffe & Sekhon (2021, "Time-uniform,
nonparametric, nonasymptotic confidence sequences", eq. 3.7) for sub-Gaussian increments
with variance proxy ``sigma2``: with probability at least ``1 - alpha``, for *every* ``t``
at once (the Gaussian mixture over the tilt is symmetric, so this boundary is two-sided),

    |mean_t - mu| <= sqrt( 2 (t sigma2 + rho) / t^2 * log( sqrt((t sigma2 + rho) / rho) / alpha ) )

Bounded values are sub-Gaussian: a variable in [a, b] has ``sigma2 = (b - a)^2 / 4``.
``rho`` sets the sample size where the boundary is tightest (``tune_rho``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def tune_rho(sigma2: float, n: int, alpha: float) -> float:
    """The mixture parameter that makes the boundary tightest near ``n`` samples."""
    la = -2 * math.log(alpha)
    return sigma2 * n / (la + math.log(la + 1))


def radius(t: int, sigma2: float, rho: float, alpha: float) -> float:
    """Half-width of the two-sided confidence sequence after ``t`` observations."""
    if t <= 0:
        return math.inf
    v = t * sigma2 + rho
    return math.sqrt(2 * v / t**2 * math.log(math.sqrt(v / rho) / alpha))


@dataclass
class MeanSequence:
    """Running mean of bounded observations with its anytime-valid interval."""

    low: float
    high: float
    alpha: float = 0.05
    horizon: int = 200
    n: int = 0
    total: float = 0.0
    _rho: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._rho = tune_rho(self.sigma2, self.horizon, self.alpha)

    @property
    def sigma2(self) -> float:
        """Variance proxy of one observation."""
        return (self.high - self.low) ** 2 / 4

    def add(self, x: float) -> None:
        """One more observation (clipped to its bounds)."""
        self.n += 1
        self.total += min(max(x, self.low), self.high)

    @property
    def mean(self) -> float:
        """The running mean (NaN before any observation)."""
        return self.total / self.n if self.n else math.nan

    def interval(self) -> tuple[float, float]:
        """The confidence sequence's interval now, valid uniformly over time."""
        if not self.n:
            return (self.low, self.high)
        r = radius(self.n, self.sigma2, self._rho, self.alpha)
        return (max(self.low, self.mean - r), min(self.high, self.mean + r))
