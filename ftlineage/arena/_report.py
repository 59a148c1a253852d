"""The versioned arena result and the statistics that fill it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ftlineage.arena._cache import jsonable
from ftlineage.arena._judge import Judge
from ftlineage.arena._stats import (
    bootstrap_interval,
    length_controlled_win_rate,
    plan_comparisons,
    wilson_interval,
)
from ftlineage.scoring import Score

if TYPE_CHECKING:
    from ftlineage.arena._arena import ArenaOptions


class PairResult(BaseModel):
    """One judged pair, from the candidate's point of view."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    candidate_first: bool
    outcome: str  # win | loss | tie | unscored
    judgements: tuple[str, ...]
    reason: str
    candidate_chars: int
    baseline_chars: int


class ArenaResult(BaseModel):
    """Wins, losses, ties and unscored pairs of candidate vs baseline, with two intervals.

    ``win_rate`` is wins / (wins + losses): ties and unscored pairs are reported separately and
    excluded. More than ``max_unscored`` unscored makes the arena ``inconclusive`` (the gate
    blocks). Written to disk: bump ``schema_version`` on field changes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 2
    judge: str
    judge_version: str
    judge_family: str
    judge_params: dict[str, Any]
    candidate_family: str
    seed: int
    both_orders: bool
    confidence: float
    n: int
    wins: int
    losses: int
    ties: int
    unscored: int
    unscored_rate: Score
    inconclusive: bool
    win_rate: Score
    ci_low: Score
    ci_high: Score
    bootstrap_low: Score
    bootstrap_high: Score
    bootstrap_samples: int
    position_bias: Score
    length: dict[str, Score]
    pairs_needed: int
    cache_hits: int
    judge_calls: int
    warnings: tuple[str, ...]
    pairs: tuple[PairResult, ...]


LENGTH_BIAS_LOW = 0.65  # warn when even the interval's low end has longer answers winning this often


def length_report(pairs: tuple[PairResult, ...], confidence: float = 0.95) -> dict[str, float]:
    """Do longer answers win? The longer answer's share of decisive pairs, with its interval.

    Also the length-controlled win rate (see :func:`length_controlled_win_rate`) and mean lengths.
    """
    decisive = [p for p in pairs if p.outcome in ("win", "loss")]
    differing = [p for p in decisive if p.candidate_chars != p.baseline_chars]
    longer = sum((p.outcome == "win") == (p.candidate_chars > p.baseline_chars) for p in differing)
    low, high = wilson_interval(longer, len(differing), confidence)
    n = len(pairs) or 1
    return {
        "longer_wins_rate": longer / len(differing) if differing else math.nan,
        "longer_wins_low": low,
        "longer_wins_high": high,
        "length_controlled_win_rate": length_controlled_win_rate(
            [p.candidate_chars - p.baseline_chars for p in decisive],
            [int(p.outcome == "win") for p in decisive],
        ),
        "candidate_mean_chars": sum(p.candidate_chars for p in pairs) / n,
        "baseline_mean_chars": sum(p.baseline_chars for p in pairs) / n,
    }


def length_warning(length: dict[str, float]) -> str | None:
    """A warning when longer answers win far above chance (the interval's low end above 0.65)."""
    low = length.get("longer_wins_low", math.nan)
    if not low > LENGTH_BIAS_LOW:
        return None
    return (
        f"longer answers won {length['longer_wins_rate']:.1%} of decisive pairs (interval low {low:.2f}): "
        f"the judge may reward length; the length-controlled win rate is "
        f"{length['length_controlled_win_rate']:.3f} (set arena.both_orders, or use a length-aware rubric)"
    )


def summarize(
    pairs: tuple[PairResult, ...],
    judge: Judge,
    opts: ArenaOptions,
    *,
    position_bias: float,
    cache_hits: int,
    judge_calls: int,
    warnings: list[str],
) -> ArenaResult:
    """Counts, Wilson and bootstrap intervals, bias, length, plan check and inconclusiveness."""
    count = {k: sum(p.outcome == k for p in pairs) for k in ("win", "loss", "tie", "unscored")}
    decisive = count["win"] + count["loss"]
    low, high = wilson_interval(count["win"], decisive, opts.confidence)
    outcomes = [1] * count["win"] + [0] * count["loss"]
    b_low, b_high = bootstrap_interval(
        outcomes, opts.confidence, samples=opts.bootstrap_samples, seed=opts.seed
    )
    needed = plan_comparisons(opts.effect_floor, confidence=opts.confidence)
    warnings = list(warnings)
    if len(pairs) < needed:
        warnings.append(
            f"{len(pairs)} pairs are fewer than the {needed} needed to detect a win-rate edge of "
            f"{opts.effect_floor:.2f} at {opts.confidence:.0%}; the interval may not decide"
        )
    length = length_report(pairs, opts.confidence)
    if bias := length_warning(length):
        warnings.append(bias)
    unscored_rate = count["unscored"] / len(pairs) if pairs else 0.0
    if unscored_rate > opts.max_unscored:
        warnings.append(
            f"{count['unscored']} of {len(pairs)} pairs unscored ({unscored_rate:.1%} > "
            f"{opts.max_unscored:.0%}): the arena is inconclusive"
        )
    return ArenaResult(
        judge=judge.name,
        judge_version=judge.version,
        judge_family=judge.family,
        judge_params=jsonable(judge.params),
        candidate_family=opts.candidate_family,
        seed=opts.seed,
        both_orders=opts.both_orders,
        confidence=opts.confidence,
        n=len(pairs),
        wins=count["win"],
        losses=count["loss"],
        ties=count["tie"],
        unscored=count["unscored"],
        unscored_rate=unscored_rate,
        inconclusive=unscored_rate > opts.max_unscored,
        win_rate=count["win"] / decisive if decisive else math.nan,
        ci_low=low,
        ci_high=high,
        bootstrap_low=b_low,
        bootstrap_high=b_high,
        bootstrap_samples=opts.bootstrap_samples,
        position_bias=position_bias,
        length=length,
        pairs_needed=needed,
        cache_hits=cache_hits,
        judge_calls=judge_calls,
        warnings=tuple(warnings),
        pairs=pairs,
    )
