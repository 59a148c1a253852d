"""The paired arena: same inputs, both models, position randomized from a recorded seed."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from ftlineage.arena._judge import Judge
from ftlineage.arena._stats import wilson_interval
from ftlineage.errors import BadInputError


class PairResult(BaseModel):
    """One judged pair, from the candidate's point of view."""

    model_config = ConfigDict(frozen=True)

    id: str
    candidate_first: bool
    outcome: str  # win | loss | tie | unscored
    reason: str


class ArenaResult(BaseModel):
    """Wins, losses and ties of candidate vs baseline, with a Wilson interval.

    ``win_rate`` is wins / (wins + losses): ties and unscored pairs are reported
    separately and excluded. Written to disk: do not reorder fields without a version bump.
    """

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    judge: str
    judge_version: str
    judge_family: str
    candidate_family: str
    seed: int
    confidence: float
    n: int
    wins: int
    losses: int
    ties: int
    unscored: int
    win_rate: float
    ci_low: float
    ci_high: float
    pairs: tuple[PairResult, ...]


def _outcome(pick: str, candidate_first: bool) -> str:
    if pick in ("tie", "unscored"):
        return pick
    return "win" if (pick == "first") == candidate_first else "loss"


def run_arena(
    cases: Sequence[dict[str, Any]],
    candidate: Sequence[str],
    baseline: Sequence[str],
    judge: Judge,
    *,
    seed: int,
    candidate_family: str,
    confidence: float = 0.95,
) -> ArenaResult:
    """Judge every pair once, in a per-pair random order drawn from ``seed``."""
    if judge.family.casefold() == candidate_family.casefold():
        raise BadInputError(
            f"judge {judge.name!r} is of family {judge.family!r}, the same as the candidate; "
            "pick a judge from a different model family"
        )
    rng = random.Random(seed)
    pairs = []
    for case, cand, base in zip(cases, candidate, baseline, strict=True):
        cand_first = rng.random() < 0.5
        first, second = (cand, base) if cand_first else (base, cand)
        verdict = judge.judge(case["prompt"], first, second)
        pairs.append(PairResult(id=case["id"], candidate_first=cand_first,
                                outcome=_outcome(verdict.pick, cand_first), reason=verdict.reason))
    count = {k: sum(p.outcome == k for p in pairs) for k in ("win", "loss", "tie", "unscored")}
    decisive = count["win"] + count["loss"]
    low, high = wilson_interval(count["win"], decisive, confidence)
    return ArenaResult(
        judge=judge.name, judge_version=judge.version, judge_family=judge.family,
        candidate_family=candidate_family, seed=seed, confidence=confidence, n=len(pairs),
        wins=count["win"], losses=count["loss"], ties=count["tie"], unscored=count["unscored"],
        win_rate=count["win"] / decisive if decisive else math.nan,
        ci_low=low, ci_high=high, pairs=tuple(pairs),
    )
