"""Capability-drift bands against the base model on the frozen drift suite (pure)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

Band = Literal["noise", "concerning", "fail", "improved", "unscored"]


class DriftBand(BaseModel):
    """One family's drift: points lost (positive) or gained (negative) against the base."""

    model_config = ConfigDict(frozen=True)

    family: str
    base: float
    candidate: float
    drop_points: float
    band: Band


def format_points(delta: float) -> str:
    """A signed change in points for people: ``+2.5 points``, ``-6.7 points``, never ``-0.0``."""
    rounded = round(delta, 1)
    return f"{rounded + 0.0:+.1f} points" if rounded else "±0.0 points"


def classify(drop_points: float, noise: float, fail: float) -> Band:
    """≤ ``noise`` points: noise; up to ``fail``: concerning; beyond: fail; gains: improved."""
    if math.isnan(drop_points):
        return "unscored"
    if drop_points < -noise:
        return "improved"
    if drop_points <= noise:
        return "noise"
    return "concerning" if drop_points <= fail else "fail"


def drift_bands(
    base: dict[str, float], candidate: dict[str, float], *, noise: float, fail: float
) -> list[DriftBand]:
    """Bands for every ``drift/*`` metric present in ``base`` (scores in [0, 1], points = ×100)."""
    out = []
    for name in sorted(k for k in base if k.startswith("drift/")):
        b, c = base[name], candidate.get(name, math.nan)
        drop = (b - c) * 100.0
        out.append(
            DriftBand(
                family=name.removeprefix("drift/"),
                base=b,
                candidate=c,
                drop_points=drop,
                band=classify(drop, noise, fail),
            )
        )
    return out
