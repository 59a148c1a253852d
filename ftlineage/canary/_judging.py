"""Judge one shadow pair (pure given the judge): position randomized, rubrics per answer."""

from __future__ import annotations

import hashlib
import math

from ftlineage.arena import Judge
from ftlineage.canary._monitor import Outcome, PairObservation
from ftlineage.scoring import extraction_scores


def rubrics(prompt: str, output: str) -> dict[str, float]:
    """Stage-2 rubrics of one answer, in points (0-100): JSON validity and grounding."""
    s = extraction_scores(prompt, output, None)
    grounded = 100.0 * s["grounded"] / s["produced"] if s["produced"] else math.nan
    return {"json_valid": 100.0 * s["json_valid"], "grounding": grounded}


def _challenger_first(key: str, seed: int) -> bool:
    return hashlib.sha256(f"order:{seed}\0{key}".encode()).digest()[0] % 2 == 0


def judge_pair(
    judge: Judge, key: str, prompt: str, champion: str | None, challenger: str | None, seed: int = 0
) -> PairObservation:
    """A judged pair. A missing answer (error, timeout) leaves the pair unscored for both sides."""
    if champion is None or challenger is None:
        return PairObservation(key=key, outcome="unscored", champion={}, challenger={})
    first = _challenger_first(key, seed)
    pick = judge.judge(prompt, challenger if first else champion, champion if first else challenger).pick
    outcome: Outcome
    if pick in ("tie", "unscored"):
        outcome = pick
    else:
        outcome = "win" if (pick == "first") == first else "loss"
    return PairObservation(
        key=key, outcome=outcome, champion=rubrics(prompt, champion), challenger=rubrics(prompt, challenger)
    )
