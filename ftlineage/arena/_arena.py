"""The paired arena: same inputs, both models, positions from a recorded seed, verdicts cached.

:func:`run_arena` is pure apart from the judge calls and the optional cache; it returns a frozen,
versioned :class:`ArenaResult`. Each judgement is also handed to ``on_judgement`` as a record
carrying the lineage SHAs, for the tracing adapters; it is called from the worker threads as each
judgement lands, so it must be thread-safe (``list.append`` is).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict

from ftlineage.arena._cache import VerdictCache, verdict_key
from ftlineage.arena._judge import Judge, Judgement
from ftlineage.arena._report import ArenaResult, PairResult, summarize
from ftlineage.errors import BadInputError
from ftlineage.tasks import Case

__all__ = ["ArenaOptions", "ArenaResult", "PairResult", "run_arena"]


class ArenaOptions(BaseModel):
    """How to run the arena (all recorded in the result)."""

    model_config = ConfigDict(frozen=True)

    seed: int
    candidate_family: str
    confidence: float = 0.95
    both_orders: bool = False
    concurrency: int = 8
    allow_same_family: bool = False
    bootstrap_samples: int = 2000
    max_unscored: float = 0.05
    effect_floor: float = 0.1


def _outcome(pick: str, candidate_first: bool) -> str:
    if pick not in ("first", "second", "tie"):
        return "unscored"  # a judge's invalid pick is no vote
    if pick == "tie":
        return pick
    return "win" if (pick == "first") == candidate_first else "loss"


def _combine(outcomes: list[str]) -> str:
    """One pair's outcome from one or two judgements; two that disagree make a tie."""
    if "unscored" in outcomes:
        return "unscored"
    return outcomes[0] if len(set(outcomes)) == 1 else "tie"


def check_family(judge: Judge, opts: ArenaOptions) -> str | None:
    """Refuse a same-family judge unless overridden; the override is returned as a warning."""
    if judge.family.casefold() != opts.candidate_family.casefold():
        return None
    msg = (
        f"judge {judge.name!r} is of family {judge.family!r}, the same as the candidate; "
        "pick a judge from a different model family"
    )
    if not opts.allow_same_family:
        raise BadInputError(msg + " (or set arena.allow_same_family: true to override, and say why)")
    return f"OVERRIDE: {msg}; allow_same_family was set, so self-preference bias is possible"


def run_arena(
    cases: Sequence[Case | dict[str, Any]],
    candidate: Sequence[str],
    baseline: Sequence[str],
    judge: Judge,
    opts: ArenaOptions,
    *,
    cache: VerdictCache | None = None,
    lineage: dict[str, str] | None = None,
    on_judgement: Callable[[dict[str, Any]], None] | None = None,
) -> ArenaResult:
    """Judge every pair (twice with ``both_orders``) and summarize wins, losses, ties, unscored."""
    warnings = [w for w in (check_family(judge, opts),) if w]
    inputs = [c.input_text if isinstance(c, Case) else str(c["prompt"]) for c in cases]
    ids = [c.id if isinstance(c, Case) else str(c["id"]) for c in cases]
    rng = random.Random(opts.seed)
    jobs: list[tuple[int, bool]] = []
    for i in range(len(cases)):
        first = rng.random() < 0.5
        jobs += [(i, first), (i, not first)] if opts.both_orders else [(i, first)]
    stats = {"hits": 0, "calls": 0}

    def work(job: tuple[int, bool]) -> tuple[Judgement, bool, float]:
        i, cand_first = job
        a, b = (candidate[i], baseline[i]) if cand_first else (baseline[i], candidate[i])
        key = verdict_key(judge, inputs[i], a, b)
        start = time.perf_counter()
        verdict = cache.get(key) if cache else None
        hit = verdict is not None
        if verdict is None:
            verdict = judge.judge(inputs[i], a, b)
            if cache:
                cache.put(key, verdict)
        seconds = time.perf_counter() - start
        if on_judgement:  # as each judgement lands, so a tracer streams spans during the run
            on_judgement(
                {
                    "id": ids[i],
                    "candidate_first": cand_first,
                    "pick": verdict.pick,
                    "reason": verdict.reason,
                    "cache_hit": hit,
                    "cache_key": key,
                    "seconds": round(seconds, 4),
                    "judge": judge.name,
                    "judge_version": judge.version,
                    **(lineage or {}),
                }
            )
        return verdict, hit, seconds

    with ThreadPoolExecutor(max_workers=max(1, opts.concurrency)) as pool:
        done = list(pool.map(work, jobs))
    per_pair: dict[int, list[tuple[bool, Judgement]]] = {}
    for (i, cand_first), (verdict, hit, _) in zip(jobs, done, strict=True):
        stats["hits" if hit else "calls"] += 1
        per_pair.setdefault(i, []).append((cand_first, verdict))
    pairs = tuple(_pair(ids[i], per_pair[i], candidate[i], baseline[i]) for i in range(len(cases)))
    picks = [v.pick for judged in per_pair.values() for _, v in judged if v.pick in ("first", "second")]
    if cache is not None and cache.rejected:
        warnings.append(
            f"{cache.rejected} cached verdict(s) failed their integrity check and were judged again"
        )
    return summarize(
        pairs,
        judge,
        opts,
        position_bias=picks.count("first") / len(picks) if picks else math.nan,
        cache_hits=stats["hits"],
        judge_calls=stats["calls"],
        warnings=warnings,
    )


def _pair(pair_id: str, judged: list[tuple[bool, Judgement]], cand: str, base: str) -> PairResult:
    outcomes = [_outcome(v.pick, cf) for cf, v in judged]
    return PairResult(
        id=pair_id,
        candidate_first=judged[0][0],
        outcome=_combine(outcomes),
        judgements=tuple(outcomes),
        reason=" | ".join(v.reason for _, v in judged)[:300],
        candidate_chars=len(cand),
        baseline_chars=len(base),
    )
