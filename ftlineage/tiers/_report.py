"""The tiers table: one row per tier beside full precision, as written to ``gate/tiers/tiers.json``."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ftlineage.gate.rule import GateDecision
from ftlineage.scoring import Score
from ftlineage.tiers._fidelity import Fidelity


class TierRow(BaseModel):
    """What one tier measured and what the gate decided (``error``: it could not be produced or scored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    quantizer: str
    library: str = ""
    bits: int
    group_size: int | None = None
    decision: Literal["pass", "blocked", "error"]
    reasons: tuple[str, ...] = ()
    size_bytes: int | None = None
    ms_per_case: Score = math.nan
    quantize_s: Score = math.nan
    metrics: dict[str, Score] = {}
    fidelity: Fidelity | None = None
    arena: dict[str, Score] = {}
    model_sha: str = ""
    run_id: str = ""
    version: str | None = None


class TiersReport(BaseModel):
    """Each tier beside its full-precision reference. Bump ``schema_version`` on changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    reference_size_bytes: int
    reference_ms_per_case: Score
    reference_metrics: dict[str, Score]
    reference_model_sha: str
    metrics: tuple[str, ...]
    rows: tuple[TierRow, ...]

    def with_row(self, row: TierRow) -> TiersReport:
        """This report with ``row`` replacing the row of the same name (or appended)."""
        rows = tuple(r for r in self.rows if r.name != row.name)
        order = [r.name for r in self.rows]
        merged = sorted((*rows, row), key=lambda r: order.index(r.name) if r.name in order else len(order))
        return self.model_copy(update={"rows": tuple(merged)})


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or reference is None or not reference or math.isnan(value) or math.isnan(reference):
        return ""
    return f" ({value / reference:.2f}×)"


def render_table(report: TiersReport) -> str:
    """The tiers side by side as a Markdown table (full precision first)."""
    cols = ["tier", "size MB", "ms/case", *report.metrics, "KL (nats)", "top-1", "arena W/L/T", "decision"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    ref_mb = report.reference_size_bytes / 1e6
    ref = ["full precision", f"{ref_mb:.2f}", _num(report.reference_ms_per_case, ".1f")]
    ref += [_num(report.reference_metrics.get(m), ".3f") for m in report.metrics]
    lines.append("| " + " | ".join([*ref, "0", "1.000", "-", "reference"]) + " |")
    for r in report.rows:
        size = r.size_bytes / 1e6 if r.size_bytes is not None else None
        cells = [
            r.name,
            _num(size, ".2f") + _ratio(size, ref_mb),
            _num(r.ms_per_case, ".1f") + _ratio(r.ms_per_case, report.reference_ms_per_case),
            *[_num(r.metrics.get(m), ".3f") for m in report.metrics],
            _num(r.fidelity.mean_kl if r.fidelity else None, ".4f"),
            _num(r.fidelity.top1_agreement if r.fidelity else None, ".3f"),
            "/".join(str(int(r.arena[k])) for k in ("wins", "losses", "ties")) if r.arena else "-",
            r.decision + (f" (v{r.version})" if r.version else ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [
        f"- **{r.name}**: " + "; ".join(r.reasons) for r in report.rows if r.decision != "pass" and r.reasons
    ]
    return "\n".join(lines + ([""] + failed if failed else [])) + "\n"


def render_tier_card(model_name: str, row: TierRow, decision: GateDecision, parent_run_id: str) -> str:
    """A tier's own model card (its registered version's description)."""
    fid = row.fidelity
    group = f", groups of {row.group_size}" if row.group_size else ", per channel"
    lines = [
        f"# {model_name} — tier {row.name}",
        "",
        f"{row.bits}-bit weights{group}, quantized by `{row.library or row.quantizer}` from the "
        f"full-precision candidate of run `{parent_run_id}` and gated against it.",
        "",
        f"- weights (SHA-256): `{row.model_sha}`, {_num((row.size_bytes or 0) / 1e6, '.2f')} MB on disk",
        f"- latency: {_num(row.ms_per_case, '.1f')} ms per case; quantized in "
        f"{_num(row.quantize_s, '.1f')} s",
    ]
    if fid is not None:
        lines.append(
            f"- fidelity over {fid.positions} positions of {fid.texts} prompts: mean next-token KL "
            f"{_num(fid.mean_kl, '.4f')} nats (p99 {_num(fid.p99_kl, '.4f')}), top-1 agreement "
            f"{_num(fid.top1_agreement, '.3f')}"
        )
    lines += ["", "## Metrics", "", "| metric | tier |", "|---|---:|"]
    lines += [f"| {k} | {_num(v, '.4f')} |" for k, v in sorted(row.metrics.items())]
    lines += ["", f"## Decision: {decision.decision.upper()}", ""]
    lines += [f"- {'✅' if c.passed else '❌'} {c.reason}" for c in decision.checks]
    return "\n".join(lines) + "\n"
