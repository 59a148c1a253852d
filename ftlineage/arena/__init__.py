"""Stage 3: paired arena vs the base, judges, position randomization, intervals."""

from ftlineage.arena._arena import ArenaResult, PairResult, run_arena
from ftlineage.arena._judge import Judge, Judgement, RubricJudge, get_judge, rubric_score
from ftlineage.arena._stats import wilson_interval

__all__ = [
    "ArenaResult",
    "Judge",
    "Judgement",
    "PairResult",
    "RubricJudge",
    "get_judge",
    "rubric_score",
    "run_arena",
    "wilson_interval",
]
