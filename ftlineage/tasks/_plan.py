"""How a suite is scored: per part, the scorers; per drift family, its scorer. Pure functions.

Metric names (a contract: recipes' ``gate.metrics`` and baselines name them):

* a scorer ``X`` with one metric gives ``<part>/X``; with several, ``<part>/X.<key>``
  (``flatten: true`` gives ``<part>/<key>``; ``as: Y`` renames the stem);
* a drift family ``f`` gives ``drift/f`` (the mean of its scorer's primary score) and
  ``drift/overall`` (the mean over families); a family scorer's other metrics are published as
  ``<extras>/<key>`` when the family names ``extras`` (``safety/refusal_rate``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from ftlineage.errors import BadInputError
from ftlineage.scoring import CaseScore
from ftlineage.tasks._case import Case
from ftlineage.tasks._scorer import Direction, Scorer, ScorerSpec, build_scorer, failed_checks, nanmean


class FamilySpec(ScorerSpec):
    """The scorer of one drift family; ``extras`` publishes its other metrics as ``<extras>/<key>``."""

    extras: str | None = None


class GateMetric(BaseModel):
    """A metric the gate tracks by default, with the direction that is better."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    direction: Direction = "higher"


class PartScoring(BaseModel):
    """The scorers of one part (and, for family-scored parts like drift, one scorer per family)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scorers: tuple[ScorerSpec, ...] = ()
    families: dict[str, FamilySpec] = {}


class ScoringPlan(BaseModel):
    """Every part's scoring; stored with score files so aggregates can be recomputed anywhere."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parts: dict[str, PartScoring] = {}


def _metric_name(part: str, spec: ScorerSpec, scorer: Scorer, key: str) -> str:
    if spec.flatten:
        return f"{part}/{key}"
    if len(scorer.metric_keys) == 1 and key == scorer.metric_keys[0]:
        return f"{part}/{spec.stem}"
    return f"{part}/{spec.stem}.{key}"


def _case_key(spec: ScorerSpec, key: str) -> str:
    return key if spec.flatten else f"{spec.stem}.{key}"


def primary(scorer: Scorer, scores: Mapping[str, float]) -> float:
    """The first non-NaN of the scorer's ``keys`` (the primary score, then its fallbacks)."""
    for key in scorer.keys:
        value = scores.get(key, math.nan)
        if not math.isnan(value):
            return value
    return math.nan


def score_case(plan: ScoringPlan, part: str, case: Case, output: str) -> dict[str, float]:
    """All scores of one case of ``part``; the keys are what :func:`aggregate` reads back."""
    scoring = plan.parts.get(part, PartScoring())
    if scoring.families:
        spec = scoring.families.get(case.family or "")
        if spec is None:
            raise BadInputError(
                f"case {case.id!r} of part {part!r} has family {case.family!r}; "
                f"this suite scores families {', '.join(sorted(scoring.families))}"
            )
        scorer = build_scorer(spec, f"{part} family {case.family}")
        raw = scorer.score(case, output)
        return {
            "score": raw.get(scorer.keys[0], math.nan),
            **{k: v for k, v in raw.items() if k != scorer.keys[0]},
        }
    out: dict[str, float] = {}
    for each in scoring.scorers:
        raw = build_scorer(each, f"{part} scorer").score(case, output)
        out.update({_case_key(each, k): float(v) for k, v in raw.items()})
    return out


def score_part(
    plan: ScoringPlan, part: str, cases: Sequence[Case], outputs: Sequence[str]
) -> list[CaseScore]:
    """Score every case of one part."""
    return [
        CaseScore(id=c.id, part=part, family=c.family or part, output=o, scores=score_case(plan, part, c, o))
        for c, o in zip(cases, outputs, strict=True)
    ]


def _unprefix(cases: Iterable[CaseScore], spec: ScorerSpec) -> list[dict[str, float]]:
    if spec.flatten:
        return [dict(c.scores) for c in cases]
    prefix = f"{spec.stem}."
    return [{k[len(prefix) :]: v for k, v in c.scores.items() if k.startswith(prefix)} for c in cases]


def _aggregate_families(part: str, scoring: PartScoring, cases: list[CaseScore]) -> dict[str, float]:
    out: dict[str, float] = {}
    fams = sorted({c.family for c in cases})
    for fam in fams:
        out[f"{part}/{fam}"] = nanmean([c.scores.get("score", math.nan) for c in cases if c.family == fam])
    out[f"{part}/overall"] = nanmean([out[f"{part}/{f}"] for f in fams])
    for fam, spec in scoring.families.items():
        mine = [c for c in cases if c.family == fam]
        if not spec.extras or not mine:
            continue
        scorer = build_scorer(spec)
        rows = [{scorer.keys[0]: c.scores.get("score", math.nan), **c.scores} for c in mine]
        for key, value in scorer.aggregate(rows).items():
            if key != scorer.metric_keys[0] and not math.isnan(value):
                out[f"{spec.extras}/{key}"] = value
    return out


def aggregate(cases: Sequence[CaseScore], plan: ScoringPlan) -> dict[str, float]:
    """Turn case scores into metrics, part by part, with each scorer's own aggregate."""
    out: dict[str, float] = {}
    for part, scoring in plan.parts.items():
        mine = [c for c in cases if c.part == part]
        if not mine:
            continue
        if scoring.families:
            out.update(_aggregate_families(part, scoring, mine))
            continue
        for spec in scoring.scorers:
            scorer = build_scorer(spec)
            for key, value in scorer.aggregate(_unprefix(mine, spec)).items():
                out[_metric_name(part, spec, scorer, key)] = value
    return out


def produced_metrics(
    plan: ScoringPlan, families: Mapping[str, Iterable[str]] | None = None
) -> dict[str, Direction]:
    """The metrics a plan produces (``families``: the family names present per family-scored part)."""
    out: dict[str, Direction] = {}
    for part, scoring in plan.parts.items():
        for spec in scoring.scorers:
            scorer = build_scorer(spec)
            for key in scorer.metric_keys:
                out[_metric_name(part, spec, scorer, key)] = scorer.directions[key]
        if scoring.families:
            present = set((families or {}).get(part, scoring.families))
            for fam in sorted(present):
                out[f"{part}/{fam}"] = "higher"
            out[f"{part}/overall"] = "higher"
            for spec in scoring.families.values():
                scorer = build_scorer(spec)
                for key in scorer.metric_keys[1:] if spec.extras else ():
                    out[f"{spec.extras}/{key}"] = scorer.directions[key]
    return out


def accepts_metric(plan: ScoringPlan, name: str, produced: Mapping[str, Direction]) -> bool:
    """Whether ``name`` is produced, or is a per-item metric (``<part>/<stem>.<item>``) of a scorer."""
    if name in produced:
        return True
    for part, scoring in plan.parts.items():
        for spec in scoring.scorers:
            if not spec.flatten and name.startswith(f"{part}/{spec.stem}."):
                return True
    return False


def primary_of_case(plan: ScoringPlan, case: CaseScore) -> float:
    """One pass/fail-like number per case: the first scorer's primary score (drift: ``score``)."""
    scoring = plan.parts.get(case.part, PartScoring())
    if scoring.families or not scoring.scorers:
        return case.scores.get("score", math.nan)
    spec = scoring.scorers[0]
    scorer = build_scorer(spec)
    return _unprefix([case], spec)[0].get(scorer.keys[0], math.nan)


def case_failures(plan: ScoringPlan, case: CaseScore, pass_mark: float = 1.0) -> tuple[str, ...]:
    """The checks one scored case fails, named like metrics (``drift/refusal.over_refusal``).

    A family-scored part names ``<part>/<family>`` for the primary score and
    ``<part>/<family>.<check>`` for the scorer's own checks; a scorer part names each check as
    its metric would be (``flatten``: ``<part>/<check>``). Unscored values fail nothing.
    """
    scoring = plan.parts.get(case.part, PartScoring())
    if scoring.families:
        family = scoring.families.get(case.family)
        if family is None:
            return ()
        judge = build_scorer(family)
        row = {judge.keys[0]: case.scores.get("score", math.nan), **case.scores}
        head = f"{case.part}/{case.family}"
        return tuple(
            head if c == judge.keys[0] else f"{head}.{c}" for c in failed_checks(judge, row, pass_mark)
        )
    out: list[str] = []
    for spec in scoring.scorers:
        scorer = build_scorer(spec)
        for check in failed_checks(scorer, _unprefix([case], spec)[0], pass_mark):
            if spec.flatten:
                out.append(f"{case.part}/{check}")
            elif check == scorer.keys[0]:
                out.append(f"{case.part}/{spec.stem}")
            else:
                out.append(f"{case.part}/{spec.stem}.{check}")
    return tuple(dict.fromkeys(out))


def plan_of(data: Mapping[str, object] | None) -> ScoringPlan | None:
    """The plan stored with a score file (``SuiteScores.plan``); ``None`` for files written before plans."""
    return None if data is None else ScoringPlan.model_validate(data)


def aggregate_any(cases: Sequence[CaseScore], plan: ScoringPlan | None) -> dict[str, float]:
    """:func:`aggregate` with ``plan``; without one (an old score file), each score key's mean per part."""
    if plan is not None:
        return aggregate(cases, plan)
    out: dict[str, float] = {}
    for part in sorted({c.part for c in cases}):
        mine = [c for c in cases if c.part == part]
        for key in sorted({k for c in mine for k in c.scores}):
            out[f"{part}/{key}"] = nanmean([c.scores.get(key, math.nan) for c in mine])
    return out


def default_gate(part: str, scorers: Sequence[ScorerSpec]) -> list[GateMetric]:
    """The gate's default for a part that declares none: each scorer's first metric, its direction."""
    produced = produced_metrics(ScoringPlan(parts={part: PartScoring(scorers=tuple(scorers))}))
    out, seen = [], set()
    for name, direction in produced.items():
        stem = name.split(".")[0]
        if stem not in seen:
            seen.add(stem)
            out.append(GateMetric(metric=name, direction=direction))
    return out
