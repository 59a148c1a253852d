"""The model card: one versioned object, rendered as Markdown and written as JSON.

Both go with the registered version (artifacts next to the model, and the version's
description). The suite digest in the card is the suite lock's digest, the single
source of truth the gate compared on.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ftlineage.arena import ArenaResult
from ftlineage.audit import AuditReport
from ftlineage.gate.rule import GateDecision
from ftlineage.recipe import Recipe
from ftlineage.suites import Suite


class ModelCard(BaseModel):
    """Everything a reviewer needs to trust a version. Bump ``schema_version`` on field changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 3  # 2: tiers; 3: candidate kind, audit optional
    model_name: str
    recipe: str
    base_model: str
    baseline: str
    suite: dict[str, Any]
    lineage: dict[str, str]
    metrics: dict[str, dict[str, float | None]]
    arena: dict[str, Any]
    audit: dict[str, Any]
    decision: GateDecision
    tiers: dict[str, Any] | None = None  # a TiersReport as JSON, when the recipe has tiers
    candidate_kind: str = "trained"  # trained | model | endpoint | prompt


def _num(x: float | None) -> float | None:
    return None if x is None or x != x else float(x)


def build_card(
    recipe: Recipe,
    suite: Suite,
    lineage: dict[str, str],
    decision: GateDecision,
    arena: ArenaResult,
    audit: AuditReport | None,
    scores: dict[str, dict[str, float]],
    baseline_label: str = "base model",
    tiers: Any = None,
) -> ModelCard:
    """Assemble the card; ``scores`` maps ``baseline``/``candidate`` to metric values.

    ``tiers`` (a :class:`~ftlineage.tiers.TiersReport`) puts every quantized tier beside it.
    """
    names = sorted(set(scores["baseline"]) | set(scores["candidate"]))
    return ModelCard(
        model_name=recipe.registry.model_name,
        recipe=recipe.name,
        base_model=recipe.base_model.name,
        baseline=baseline_label,
        suite={
            "name": suite.meta.name,
            "version": suite.meta.version,
            "rubric_version": suite.rubric_version(),
            "digest": suite.sha,
            "files": dict(sorted(suite.lock.files.items())),
        },
        lineage=dict(sorted(lineage.items())),
        metrics={
            n: {"baseline": _num(scores["baseline"].get(n)), "candidate": _num(scores["candidate"].get(n))}
            for n in names
        },
        arena=arena.model_dump(mode="json", exclude={"pairs"}),
        audit=_audit(audit),
        decision=decision,
        tiers=tiers.model_dump(mode="json") if tiers is not None else None,
        candidate_kind=recipe.candidate.kind,
    )


def _audit(audit: AuditReport | None) -> dict[str, Any]:
    if audit is None:
        return {"verdict": "none", "rows_in": 0, "rows_kept": 0, "rows_malformed": 0, "counts": {}}
    return {
        "rows_in": audit.rows_in,
        "rows_kept": audit.rows_kept,
        "rows_malformed": audit.rows_malformed,
        "verdict": audit.verdict,
        "counts": dict(sorted(audit.counts.items())),
    }


_ORIGIN = {
    "trained": "Fine-tuned by ftlineage from `{base}` with recipe `{recipe}`",
    "model": "A model trained elsewhere (base `{base}`), gated with recipe `{recipe}`",
    "endpoint": "A model served behind an endpoint, gated with recipe `{recipe}`",
    "prompt": "A prompt change on `{base}`, gated with recipe `{recipe}`",
}


def _audit_line(a: dict[str, Any]) -> str:
    if a["verdict"] == "none":
        return "No training data was given for this candidate, so none was audited."
    return (
        f"{a['rows_in']} rows in, {a['rows_kept']} kept, {a['rows_malformed']} "
        f"malformed; verdict {a['verdict']}; flags: {a['counts']}."
    )


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4f}"


def _arena_line(a: dict[str, Any]) -> str:
    both = " (both orders judged)" if a["both_orders"] else ""
    return (
        f"Judge `{a['judge']}` ({a['judge_version']}, family {a['judge_family']}), seed {a['seed']}: "
        f"W/L/T {a['wins']}/{a['losses']}/{a['ties']}, unscored {a['unscored']}; win rate "
        f"{_fmt(a['win_rate'])}, {a['confidence']:.0%} Wilson [{_fmt(a['ci_low'])}, {_fmt(a['ci_high'])}], "
        f"bootstrap [{_fmt(a['bootstrap_low'])}, {_fmt(a['bootstrap_high'])}]; judge first-position "
        f"pick rate {_fmt(a['position_bias'])}{both}."
    )


def render_markdown(card: ModelCard) -> str:
    """The card as Markdown (the registered version's description)."""
    s = card.suite
    lines = [
        f"# {card.model_name} — model card",
        "",
        _ORIGIN.get(card.candidate_kind, _ORIGIN["trained"]).format(base=card.base_model, recipe=card.recipe)
        + f"; compared against the {card.baseline}.",
        "",
        "## Eval suite (locked)",
        "",
        f"- suite: **{s['name']}** v{s['version']} (rubric {s['rubric_version']})",
        f"- suite digest (SHA-256): `{s['digest']}`",
        *[f"- `{name}`: `{digest}`" for name, digest in s["files"].items()],
        "",
        "## Lineage (SHA-256)",
        "",
        *[f"- {k}: `{v}`" for k, v in card.lineage.items()],
        "",
        "## Metrics vs baseline",
        "",
        "| metric | baseline | candidate |",
        "|---|---:|---:|",
        *[f"| {n} | {_fmt(v['baseline'])} | {_fmt(v['candidate'])} |" for n, v in card.metrics.items()],
        "",
        "## Arena vs base",
        "",
        _arena_line(card.arena),
        *[f"- {w}" for w in card.arena["warnings"]],
        "",
        "## Data audit",
        "",
        _audit_line(card.audit),
        "",
        f"## Decision: {card.decision.decision.upper()}",
        "",
        *[f"- {'✅' if c.passed else '❌'} {c.reason}" for c in card.decision.checks],
        *_tiers_section(card.tiers),
    ]
    return "\n".join(lines) + "\n"


def _tiers_section(tiers: dict[str, Any] | None) -> list[str]:
    if not tiers:
        return []
    from ftlineage.tiers import TiersReport, render_table

    intro = (
        "Each tier was quantized from this version, scored on the same suite, compared per case with "
        "it (paired bootstrap) and judged against it in the arena; a passing tier is its own version "
        "(tag `ftlineage.tier`)."
    )
    table = render_table(TiersReport.model_validate(tiers)).rstrip()
    return ["", "## Quantization tiers", "", intro, "", table]
