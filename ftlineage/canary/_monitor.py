"""The canary monitor (pure): rolling windows for people, confidence sequences for alarms.

Each judged shadow pair adds a win/loss/tie for the challenger (1 / 0 / 0.5; unscored pairs
are counted and skipped, never held against anyone) and, per rubric, the paired difference
challenger − champion in points (0–100 scale). Alarms come from anytime-valid confidence
sequences, so looking after every pair does not inflate false alarms:

* win rate: the sequence's upper bound is below ``win_floor``;
  (``alpha`` is split evenly over the win-rate sequence and the rubric sequences, so the
  whole monitor's false-alarm rate stays within ``alpha``);
* rubric drop: the sequence for the mean difference lies below 0 *and* the mean drop is at
  least ``drop_points``.

An alarm must hold for ``sustain`` consecutive pairs before the monitor asks for a rollback;
a challenger that has seen ``stable_pairs`` pairs without one is stable (ready to promote).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ftlineage.canary._sequential import MeanSequence

Outcome = Literal["win", "loss", "tie", "unscored"]
_WIN = {"win": 1.0, "loss": 0.0, "tie": 0.5}


class MonitorPolicy(BaseModel):
    """When the canary alarms, rolls back, and counts as stable."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    drop_points: float = Field(2.0, gt=0, description="rubric drop (0-100 points) that alarms")
    win_floor: float = Field(0.5, gt=0, lt=1, description="the challenger's win rate must stay above")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="false-alarm budget of each sequence")
    horizon: int = Field(200, gt=0, description="pairs where the sequences are tightest")
    sustain: int = Field(3, ge=1, description="consecutive alarming pairs before a rollback")
    window: int = Field(50, ge=1, description="pairs in the rolling windows shown as metrics")
    stable_pairs: int = Field(300, ge=1, description="pairs without an alarm before promotion")


class PairObservation(BaseModel):
    """One judged shadow pair."""

    model_config = ConfigDict(frozen=True)

    key: str
    outcome: Outcome
    champion: dict[str, float]
    challenger: dict[str, float]


class MonitorStatus(BaseModel):
    """The monitor after a pair. Written to the canary's run; bump ``schema_version`` on changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    pairs: int
    unscored: int
    win_rate: float
    win_interval: tuple[float, float]
    rolling: dict[str, float]
    drops: dict[str, tuple[float, tuple[float, float]]]
    alarm: str | None
    streak: int
    rollback: bool
    stable: bool

    def headline(self) -> dict[str, float]:
        """The numbers every view of the canary shows: pairs, unscored, win rate and its interval."""
        low, high = self.win_interval
        return {"pairs": self.pairs, "unscored": self.unscored, "win_rate": self.win_rate,
                "win_low": low, "win_high": high}  # fmt: skip


class Monitor:
    """Feed judged pairs; read the status."""

    def __init__(self, policy: MonitorPolicy | None = None, rubric_count: int = 2) -> None:
        self.policy = policy or MonitorPolicy()
        p = self.policy
        # The false-alarm budget is split over the win-rate sequence and one per rubric.
        self._alpha = p.alpha / (1 + rubric_count)
        self.win = MeanSequence(0.0, 1.0, alpha=self._alpha, horizon=p.horizon)
        self.diffs: dict[str, MeanSequence] = {}
        self.recent: deque[PairObservation] = deque(maxlen=p.window)
        self.unscored = 0
        self.streak = 0
        self.rolled_back = False
        self.status = self._status(None)

    def _diff(self, rubric: str) -> MeanSequence:
        if rubric not in self.diffs:
            self.diffs[rubric] = MeanSequence(-100.0, 100.0, alpha=self._alpha, horizon=self.policy.horizon)
        return self.diffs[rubric]

    def observe(self, obs: PairObservation) -> MonitorStatus:
        """Add one pair and re-evaluate the alarms."""
        self.recent.append(obs)
        if obs.outcome == "unscored":
            self.unscored += 1
        else:
            self.win.add(_WIN[obs.outcome])
        for rubric, value in obs.challenger.items():
            base = obs.champion.get(rubric, math.nan)
            if not (math.isnan(value) or math.isnan(base)):
                self._diff(rubric).add(value - base)
        alarm = self._alarm()
        self.streak = self.streak + 1 if alarm else 0
        if self.streak >= self.policy.sustain:
            self.rolled_back = True
        self.status = self._status(alarm)
        return self.status

    def _alarm(self) -> str | None:
        p = self.policy
        low, high = self.win.interval()
        if self.win.n and high < p.win_floor:
            return (
                f"win rate {self.win.mean:.3f} over {self.win.n} pairs: its {1 - self._alpha:.1%} confidence "
                f"sequence [{low:.3f}, {high:.3f}] lies below the floor {p.win_floor}"
            )
        for rubric, seq in sorted(self.diffs.items()):
            lo, hi = seq.interval()
            if hi < 0 and -seq.mean >= p.drop_points:
                return (
                    f"rubric {rubric} dropped {-seq.mean:.1f} points vs the champion over {seq.n} pairs "
                    f"(confidence sequence [{lo:.1f}, {hi:.1f}])"
                )
        return None

    def _status(self, alarm: str | None) -> MonitorStatus:
        rolling: dict[str, float] = {}
        scored = [_WIN[o.outcome] for o in self.recent if o.outcome != "unscored"]
        rolling["win_rate"] = sum(scored) / len(scored) if scored else math.nan
        for arm in ("champion", "challenger"):
            names = {k for o in self.recent for k in getattr(o, arm)}
            for name in sorted(names):
                xs = [v for o in self.recent if not math.isnan(v := getattr(o, arm).get(name, math.nan))]
                rolling[f"{arm}/{name}"] = sum(xs) / len(xs) if xs else math.nan
        pairs = self.win.n + self.unscored
        return MonitorStatus(
            pairs=pairs,
            unscored=self.unscored,
            win_rate=self.win.mean,
            win_interval=self.win.interval(),
            rolling=rolling,
            drops={k: (-s.mean, s.interval()) for k, s in sorted(self.diffs.items())},
            alarm=alarm,
            streak=self.streak,
            rollback=self.rolled_back,
            # only judged pairs count: a judge outage (every pair unscored) must never look stable
            stable=not self.rolled_back and self.win.n >= self.policy.stable_pairs and self.streak == 0,
        )
