"""Judge one shadow pair (pure given the judge): position randomized, rubric points per answer."""

from __future__ import annotations

import hashlib

from ftlineage.arena import Judge
from ftlineage.canary._monitor import Outcome, PairObservation
from ftlineage.tasks import Rubric


def rubrics(rubric: Rubric | None, prompt: str, output: str) -> dict[str, float]:
    """The suite's arena-rubric points (0-100) of one answer; none without a rubric."""
    return rubric.points(prompt, output) if rubric is not None else {}


def _challenger_first(key: str, seed: int) -> bool:
    return hashlib.sha256(f"order:{seed}\0{key}".encode()).digest()[0] % 2 == 0


def judge_pair(
    judge: Judge,
    key: str,
    prompt: str,
    champion: str | None,
    challenger: str | None,
    seed: int = 0,
    rubric: Rubric | None = None,
) -> PairObservation:
    """A judged pair. A missing answer (error, timeout) leaves the pair unscored for both sides.

    ``rubric`` (default: the judge's own, for the programmatic judge) gives the per-answer points
    the monitor compares.
    """
    if rubric is None:
        own = getattr(judge, "rubric", None)
        rubric = own if isinstance(own, Rubric) else None
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
        key=key,
        outcome=outcome,
        champion=rubrics(rubric, prompt, champion),
        challenger=rubrics(rubric, prompt, challenger),
    )
