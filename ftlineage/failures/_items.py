"""The failed cases of a run, collected from what the stages wrote (pure functions).

Four stages fail cases in four ways, and each collector turns one of them into
:class:`FailedCase` items:

* :func:`from_scores` — held-out and drift cases (and any other scored part) whose per-case
  checks fail on the candidate, each marked a **flip** (it passed on the baseline: the change
  broke it), **always** (it failed on the baseline too) or **new** (the baseline lacks it);
* :func:`from_arena` — arena pairs the judge gave to the baseline;
* :func:`from_canary` — shadow pairs the canary judged a loss for the challenger;
* :func:`from_audit` — training rows behind a blocking audit verdict (refusal boilerplate of a
  contaminating source, rows over a blocking flag's limit).

Text goes through the audit's secret and PII masking (a model can repeat a credential it saw in
training) and is cut to :data:`MAX_TEXT` characters; every other field of a case is masked too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ftlineage.audit import MaskedModel, mask_sensitive
from ftlineage.scoring import CaseScore, SuiteScores, is_refusal
from ftlineage.tasks import ScoringPlan, case_failures, plan_of

Kind = Literal["flip", "new", "always", "loss", "alarm", "flagged"]
Stage = Literal["score", "arena", "canary", "audit"]
KIND_ORDER: tuple[str, ...] = ("flip", "new", "always", "loss", "alarm", "flagged")
MAX_TEXT = 2000


class FailedCase(MaskedModel):
    """One failed case. Written inside ``failures/feed.json``: bump its schema on field changes.

    Its text is masked (a :class:`~ftlineage.audit.MaskedModel`): ids, sources and details too.
    """

    key: str  # unique within a feed: "<part>:<id>"
    id: str
    stage: Stage
    part: str
    family: str
    kind: Kind
    checks: tuple[str, ...]
    prompt: str
    output: str
    baseline_output: str | None = None
    source: str | None = None  # the training source of an audit row
    trace_id: str | None = None
    tier: str | None = None
    detail: str = ""


def _cut(text: str | None) -> str:
    text = mask_sensitive(text or "")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def output_checks(part: str, checks: tuple[str, ...], output: str) -> tuple[str, ...]:
    """``checks`` plus what the answer itself shows, whatever the suite's scorers are.

    ``<part>/empty`` for no answer, ``<part>/refused`` for refusal boilerplate where no refusal
    check already says so.
    """
    if not output.strip():
        return (*checks, f"{part}/empty")
    if is_refusal(output) and not any("refusal" in c for c in checks):
        return (*checks, f"{part}/refused")
    return checks


def _scored(case: CaseScore) -> bool:
    return any(not math.isnan(v) for v in case.scores.values())


def _checks(case: CaseScore, plan: ScoringPlan | None, pass_mark: float) -> tuple[str, ...]:
    if plan is not None:
        return case_failures(plan, case, pass_mark)
    value = case.scores.get("score", case.scores.get("exact_match", math.nan))  # a score file without plan
    return (f"{case.part}/score",) if not math.isnan(value) and value < pass_mark else ()


def from_scores(
    candidate: SuiteScores,
    baseline: SuiteScores | None,
    prompts: Mapping[str, str],
    *,
    pass_mark: float = 1.0,
    trace_id: str | None = None,
    tier: str | None = None,
) -> list[FailedCase]:
    """Every candidate case that fails a check, marked flip / always / new against ``baseline``.

    ``prompts`` maps case ids to their input text (the suite's); ``trace_id`` is the trace
    holding the candidate's case spans.
    """
    plan = plan_of(candidate.plan)
    base_plan = plan_of(baseline.plan) if baseline is not None else None
    base = {c.id: c for c in baseline.cases} if baseline is not None else {}
    out = []
    for case in candidate.cases:
        checks = _checks(case, plan, pass_mark)
        if not checks:
            continue
        checks = output_checks(case.part, checks, case.output)
        other = base.get(case.id)
        kind: Kind = "new"
        detail = ""
        if other is not None and _scored(other):
            before = _checks(other, base_plan or plan, pass_mark)
            kind = "always" if before else "flip"
            newly = [c for c in checks if c not in before]
            detail = f"newly failing: {', '.join(newly)}" if before and newly else ""
        out.append(
            FailedCase(
                key=f"{case.part}:{case.id}",
                id=case.id,
                stage="score",
                part=case.part,
                family=case.family,
                kind=kind,
                checks=checks,
                prompt=_cut(prompts.get(case.id, "")),
                output=_cut(case.output),
                baseline_output=_cut(other.output) if other is not None else None,
                trace_id=trace_id,
                tier=tier,
                detail=detail,
            )
        )
    return out


def arena_winner(record: Mapping[str, Any]) -> str:
    """``candidate``, ``baseline``, ``tie`` or ``unscored`` for one judgement record."""
    pick = str(record.get("pick", "unscored"))
    if pick not in ("first", "second"):
        return pick
    return "candidate" if (pick == "first") == bool(record.get("candidate_first")) else "baseline"


def from_arena(
    records: Iterable[Mapping[str, Any]], prompts: Mapping[str, str], *, trace_id: str | None = None
) -> list[FailedCase]:
    """Arena pairs the judge gave to the baseline (ties and unscored pairs are not failures)."""
    out = []
    for r in records:
        if arena_winner(r) != "baseline":
            continue
        case_id = str(r["id"])
        out.append(
            FailedCase(
                key=f"arena:{case_id}",
                id=case_id,
                stage="arena",
                part="arena",
                family="arena",
                kind="loss",
                checks=output_checks("arena", ("arena/loss",), str(r.get("candidate", ""))),
                prompt=_cut(prompts.get(case_id, str(r.get("prompt", "")))),
                output=_cut(str(r.get("candidate", ""))),
                baseline_output=_cut(str(r.get("baseline", ""))) if "baseline" in r else None,
                trace_id=trace_id,
                detail=f"judge {r.get('judge', '?')}: {mask_sensitive(str(r.get('reason', '')))[:200]}",
            )
        )
    return out


def from_canary(pairs: Iterable[Mapping[str, Any]]) -> list[FailedCase]:
    """Shadow pairs judged a loss for the challenger, with the rubric keys on which it scored lower.

    A pair is ``{key, prompt, champion, challenger, outcome, rubrics: {arm: {key: points}}}``
    (what the canary records per judged pair), optionally with ``trace_id``.
    """
    out = []
    for p in pairs:
        if p.get("outcome") != "loss":
            continue
        rubrics = p.get("rubrics") or {}
        mine, theirs = rubrics.get("challenger") or {}, rubrics.get("champion") or {}
        lower = [f"canary/{k}" for k, v in sorted(mine.items()) if v < theirs.get(k, -math.inf)]
        key = str(p["key"])
        out.append(
            FailedCase(
                key=f"canary:{key}",
                id=key,
                stage="canary",
                part="canary",
                family="canary",
                kind="alarm",
                checks=output_checks("canary", ("canary/loss", *lower), str(p.get("challenger") or "")),
                prompt=_cut(str(p.get("prompt", ""))),
                output=_cut(str(p.get("challenger") or "")),
                baseline_output=_cut(str(p.get("champion") or "")),
                trace_id=p.get("trace_id"),
            )
        )
    return out


def from_audit(rows: Iterable[Mapping[str, Any]]) -> list[FailedCase]:
    """Training rows behind a blocking audit verdict (``audit/failed_rows.jsonl`` lines).

    A line is ``{id, source, reasons: [flag, ...], prompt, completion}``; a reason is a flag over
    its blocking limit or ``refusal_contamination`` (a refusing row of a contaminating source).
    """
    out = []
    for r in rows:
        reasons = tuple(str(x) for x in r.get("reasons", ()))
        if not reasons:
            continue
        out.append(
            FailedCase(
                key=f"audit:{r['id']}",
                id=str(r["id"]),
                stage="audit",
                part="audit",
                family=reasons[0],
                kind="flagged",
                checks=tuple(f"audit/{x}" for x in reasons),
                prompt=_cut(str(r.get("prompt", ""))),
                output=_cut(str(r.get("completion", ""))),
                source=str(r.get("source", "")) or None,
            )
        )
    return out


def ordered(items: Iterable[FailedCase]) -> list[FailedCase]:
    """Flips first (what the change broke), then new, always-failing, losses, alarms, audit rows."""
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    return sorted(items, key=lambda c: (rank[c.kind], c.part, c.id))
