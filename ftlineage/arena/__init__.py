"""Stage 3: paired arena vs the base: judges, position control, intervals, verdict cache."""

from ftlineage.arena._arena import ArenaOptions, run_arena
from ftlineage.arena._backends import Backend, HFChat, JudgeCallError, OpenAIChat
from ftlineage.arena._cache import VerdictCache, jsonable, open_cache_db, seal_message, verdict_key
from ftlineage.arena._judge import Judge, Judgement, RubricJudge, available_judges, get_judge, rubric_judge
from ftlineage.arena._llm import LLMJudge, parse_pick
from ftlineage.arena._report import ArenaResult, PairResult
from ftlineage.arena._stats import bootstrap_interval, plan_comparisons, wilson_interval

__all__ = [
    "ArenaOptions",
    "ArenaResult",
    "available_judges",
    "Backend",
    "bootstrap_interval",
    "get_judge",
    "HFChat",
    "Judge",
    "JudgeCallError",
    "Judgement",
    "jsonable",
    "LLMJudge",
    "open_cache_db",
    "OpenAIChat",
    "PairResult",
    "parse_pick",
    "plan_comparisons",
    "rubric_judge",
    "RubricJudge",
    "run_arena",
    "seal_message",
    "verdict_key",
    "VerdictCache",
    "wilson_interval",
]
