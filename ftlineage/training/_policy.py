"""What a scored checkpoint means: drift bands, best-so-far, plateau, stop (pure).

The callback calls :func:`assess` after every evaluation and only acts on the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from ftlineage.scoring import DriftBand, Score, drift_bands, format_points


class CheckpointScore(BaseModel):
    """Scores of one evaluated checkpoint (written next to it as ``ftlineage_checkpoint.json``).

    Written to disk: bump ``schema_version`` on field changes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    step: int
    path: str
    metrics: dict[str, Score]
    loss: float | None = None


class GatePolicy(BaseModel):
    """How checkpoints are judged while training runs.

    Attributes:
        select: the held-out metric that picks the best checkpoint (higher is better).
        noise / fail: drift points (0–100 scale) up to which a drop is noise, and beyond
            which it is a hard fail that stops training.
        patience: evaluations without a held-out gain larger than ``min_delta``, while the
            training loss keeps falling, before training stops on a plateau (0 = never).
        confirm: consecutive evaluations with a hard drift fail before training stops. A
            family of 40 cases moves 2.5 points per case, so one evaluation's dip can be a
            couple of cases (the demo dips 6.7 points at its first checkpoint and is back
            within noise at the next); a fail that holds is forgetting.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    select: str = "heldout/field_accuracy"
    noise: float = Field(1.0, ge=0)
    fail: float = Field(5.0, gt=0)
    patience: int = Field(3, ge=0)
    min_delta: float = Field(0.0, ge=0)
    stop_on_drift: bool = True
    confirm: int = Field(2, ge=1)


class Assessment(BaseModel):
    """The verdict on one checkpoint. Bump ``schema_version`` on field changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    step: int
    bands: tuple[DriftBand, ...]
    worst: str
    best_step: int
    plateau: bool
    stop: bool
    reason: str
    recommendation: str | None = None


_SEVERITY = {"improved": 0, "noise": 1, "unscored": 2, "concerning": 3, "fail": 4}


def _value(c: CheckpointScore, key: str) -> float:
    v = c.metrics.get(key, math.nan)
    return -math.inf if math.isnan(v) else v


def best_checkpoint(history: Sequence[CheckpointScore], select: str) -> CheckpointScore:
    """Highest ``select`` score; the earliest on ties (the same score with less training)."""
    return max(history, key=lambda c: (_value(c, select), -c.step))


def _plateau(history: Sequence[CheckpointScore], policy: GatePolicy) -> bool:
    """No held-out gain in the last ``patience`` evaluations while the loss kept falling."""
    if policy.patience == 0 or len(history) <= policy.patience:
        return False
    before, recent = history[: -policy.patience], history[-policy.patience :]
    best_before = max(_value(c, policy.select) for c in before)
    if any(_value(c, policy.select) > best_before + policy.min_delta for c in recent):
        return False
    anchor = best_checkpoint(before, policy.select)
    losses = [c.loss for c in (anchor, *recent)]
    if any(x is None for x in losses):
        return False
    return bool(losses[-1] < losses[0])  # type: ignore[operator]


@dataclass(frozen=True)
class _Drift:
    bands: tuple[DriftBand, ...]
    worst: str


def _drift(base: Mapping[str, float], metrics: Mapping[str, float], policy: GatePolicy) -> _Drift:
    bands = tuple(drift_bands(dict(base), dict(metrics), noise=policy.noise, fail=policy.fail))
    worst = max((b.band for b in bands), key=_SEVERITY.__getitem__, default="noise")
    return _Drift(bands, worst)


def _sustained_fail(
    base: Mapping[str, float], history: Sequence[CheckpointScore], policy: GatePolicy
) -> bool:
    """Whether the last ``confirm`` evaluations all had a hard drift fail."""
    recent = history[-policy.confirm :]
    return len(recent) == policy.confirm and all(
        _drift(base, c.metrics, policy).worst == "fail" for c in recent
    )


def assess(base: Mapping[str, float], history: Sequence[CheckpointScore], policy: GatePolicy) -> Assessment:
    """Judge the newest checkpoint in ``history`` against the base and the ones before it."""
    latest = history[-1]
    drift = _drift(base, latest.metrics, policy)
    best = best_checkpoint(history, policy.select)
    failing = [f"{b.family} {format_points(-b.drop_points)}" for b in drift.bands if b.band == "fail"]
    concerning = [b.family for b in drift.bands if b.band == "concerning"]
    plateau = _plateau(history, policy)
    if failing and policy.stop_on_drift and _sustained_fail(base, history, policy):
        stop, reason = (
            True,
            (
                f"hard drift fail at step {latest.step}: {', '.join(failing)} vs base"
                + (f" ({policy.confirm} evaluations in a row)" if policy.confirm > 1 else "")
            ),
        )
    elif plateau:
        stop, reason = (
            True,
            (
                f"held-out {policy.select} has not improved for {policy.patience} evaluations while the "
                f"loss kept falling; best step {best.step}"
            ),
        )
    else:
        stop, reason = False, f"step {latest.step}: drift {drift.worst}; best held-out at step {best.step}"
    recommendation = None
    if concerning:
        recommendation = (
            f"drift concerning ({', '.join(concerning)}: {policy.noise:g}-{policy.fail:g} points); "
            "rerun with seed variation (`ftlineage train RECIPE --seeds 3`) to tell noise from forgetting"
        )
    return Assessment(
        step=latest.step,
        bands=drift.bands,
        worst=drift.worst,
        best_step=best.step,
        plateau=plateau,
        stop=stop,
        reason=reason,
        recommendation=recommendation,
    )


def band_metrics(assessment: Assessment) -> dict[str, float]:
    """Points lost per drift family, as metrics (``drift_drop/<family>``)."""
    return {f"drift_drop/{b.family}": b.drop_points for b in assessment.bands}
