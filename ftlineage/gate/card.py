"""The Markdown model card attached to a registered version."""

from __future__ import annotations

from ftlineage.arena import ArenaResult
from ftlineage.audit import AuditReport
from ftlineage.gate.rule import GateDecision
from ftlineage.recipe import Recipe
from ftlineage.suites import Suite


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4f}"


def render_card(
    recipe: Recipe,
    suite: Suite,
    lineage: dict[str, str],
    decision: GateDecision,
    arena: ArenaResult,
    audit: AuditReport,
    baseline: dict[str, float],
    candidate: dict[str, float],
) -> str:
    """Render the card: suite digest and file hashes, lineage, metrics, arena, audit, decision."""
    lines = [
        f"# {recipe.registry.model_name} — model card",
        "",
        f"Fine-tuned by ftlineage from `{recipe.base_model.name}` with recipe `{recipe.name}`.",
        "",
        "## Eval suite (locked)",
        "",
        f"- suite: **{suite.meta.name}** v{suite.meta.version}",
        f"- suite digest (SHA-256): `{suite.sha}`",
    ]
    lines += [f"- `{name}`: `{digest}`" for name, digest in sorted(suite.lock.files.items())]
    lines += ["", "## Lineage (SHA-256)", ""]
    lines += [f"- {k}: `{v}`" for k, v in sorted(lineage.items())]
    lines += ["", "## Metrics vs baseline", "", "| metric | baseline | candidate |", "|---|---:|---:|"]
    for name in sorted(set(baseline) | set(candidate)):
        lines.append(f"| {name} | {_fmt(baseline.get(name))} | {_fmt(candidate.get(name))} |")
    lines += [
        "",
        "## Arena vs base",
        "",
        f"Judge `{arena.judge}` ({arena.judge_version}, family {arena.judge_family}), seed "
        f"{arena.seed}: W/L/T {arena.wins}/{arena.losses}/{arena.ties}, unscored {arena.unscored}; "
        f"win rate {arena.win_rate:.3f}, {arena.confidence:.0%} Wilson "
        f"[{arena.ci_low:.3f}, {arena.ci_high:.3f}], bootstrap [{arena.bootstrap_low:.3f}, "
        f"{arena.bootstrap_high:.3f}]; judge first-position pick rate {arena.position_bias:.2f}"
        f"{' (both orders judged)' if arena.both_orders else ''}.",
        *[f"- {w}" for w in arena.warnings],
        "",
        "## Data audit",
        "",
        f"{audit.rows_in} rows in, {audit.rows_kept} kept; verdict {audit.verdict}; "
        f"flags: {dict(sorted(audit.counts.items()))}.",
        "",
        f"## Decision: {decision.decision.upper()}",
        "",
    ]
    lines += [f"- {'✅' if c.passed else '❌'} {c.reason}" for c in decision.checks]
    return "\n".join(lines) + "\n"
