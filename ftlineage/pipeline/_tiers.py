"""The tiers stage: every quantized tier of a passing candidate through its own gate, in its own run.

After full precision passes, each tier of ``recipe.tiers`` is a nested run ``tier-<name>`` under
the job's run: quantized by its library from the exported model, scored on the same suite (the
same cases as the full-precision reference, re-scored here on the same machine), measured for
fidelity, judged against full precision in the arena and decided by
:func:`ftlineage.tiers.decide_tier`. Its decision is written in its own run and as
``gate/tiers/<name>/decision.json`` in the job's run. A passing tier is packaged in its run and,
once full precision is registered, registered as its own version (tag ``ftlineage.tier``, alias
``<alias>-<tier>``), signed like any version. A tier that blocks or errors is reported and never
holds back full precision or another tier.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ftlineage import tags as T
from ftlineage.errors import FtlineageError, RecipeError
from ftlineage.gate import promotion
from ftlineage.gate.rule import GateDecision
from ftlineage.logging import get_logger
from ftlineage.models import make_generator, model_config, resolve_device
from ftlineage.pipeline._context import JobContext, Trained
from ftlineage.pipeline._lifecycle import lifecycle, start_run
from ftlineage.pipeline._stages import arena_cases, arena_outputs, judge_outputs, record_values
from ftlineage.recipe import Recipe
from ftlineage.scoring import SuiteScores
from ftlineage.tasks import Case
from ftlineage.tiers import (
    TierRow,
    TierSpec,
    TiersReport,
    check_group,
    decide_tier,
    fidelity,
    get_quantizer,
    produce_tier,
    render_table,
    render_tier_card,
    weights_sha,
    weights_size,
)
from ftlineage.training import case_source, evaluate_model

logger = get_logger(__name__)


def check_tiers(recipe: Recipe, where: str) -> None:
    """Every tier's quantizer exists and can produce it here: refused before anything is written."""
    if not recipe.tiers:
        return
    config = model_config(recipe.base_model, where)
    try:
        device = resolve_device(recipe.tier_gate.device)
        for spec in recipe.tiers:
            get_quantizer(spec.quantizer).check(spec, device)
            if config is not None:
                check_group(spec, config)
    except (FtlineageError, ValueError) as exc:
        raise RecipeError(f"{where} (tiers): {exc}") from None


@dataclass(frozen=True)
class Reference:
    """Full precision as the tiers are compared with: scores, arena answers, fidelity texts."""

    scores: SuiteScores
    cases: list[Case]
    answers: list[str]
    texts: list[tuple[str, str]]
    size_bytes: int


def score(ctx: JobContext, trained: Trained, model: Any, label: str) -> SuiteScores:
    """``model`` on the job's suite, with the checkpoints' limits, as a score file."""
    fmt, t = trained.prompt_format, ctx.recipe.training
    gen = make_generator(
        ctx.recipe.generation, model, trained.tokenizer, add_special_tokens=fmt.add_special_tokens
    )
    metrics, cases = evaluate_model(
        model, trained.tokenizer, ctx.suite, fmt, limit=t.eval_limit, drift_limit=t.drift_limit, generator=gen
    )
    plan = ctx.suite.plan.model_dump(mode="json", by_alias=True)
    return SuiteScores(
        suite_sha=ctx.suite.sha, model_label=label, metrics=metrics, cases=tuple(cases), plan=plan
    )


def reference(ctx: JobContext, trained: Trained) -> Reference:
    """Full precision re-scored here, so tiers and reference share a machine, a process and cases."""
    scores = score(ctx, trained, trained.model, "full_precision")
    ctx.write("scores", "tier_reference.json", scores.model_dump_json(indent=1))
    cases = arena_cases(ctx) if ctx.recipe.tier_gate.arena else []
    answers = arena_outputs(ctx, trained, trained.model, cases) if cases else []
    by_id = {c.id: c.output for c in scores.cases if c.part == "heldout"}
    held = [c for c in ctx.suite.heldout if c.id in by_id][: ctx.recipe.tier_gate.fidelity_cases]
    prompts = trained.prompt_format.render_all(trained.tokenizer, [case_source(c) for c in held])
    texts = [(p, by_id[c.id]) for p, c in zip(prompts, held, strict=True)]
    return Reference(scores, cases, answers, texts, weights_size(ctx.out / "export"))


def tiers_stage(ctx: JobContext, trained: Trained) -> TiersReport:
    """Produce, score and decide every tier (registering comes after full precision's)."""
    device = resolve_device(ctx.recipe.tier_gate.device)
    ref = reference(ctx, trained)
    metrics = tuple(m.name for m in ctx.recipe.gate.metrics or () if m.name in ref.scores.metrics)
    report = TiersReport(
        reference_size_bytes=ref.size_bytes,
        reference_ms_per_case=ref.scores.metrics.get("latency/ms_per_case", float("nan")),
        reference_metrics=dict(ref.scores.metrics),
        reference_model_sha=ctx.lineage.model_sha,
        metrics=metrics,
        rows=(),
    )
    for i, spec in enumerate(ctx.recipe.tiers, start=1):
        logger.info("tier %s (%d/%d) ...", spec.name, i, len(ctx.recipe.tiers))
        report = report.with_row(one_tier(ctx, trained, spec, ref, device))
        write_report(ctx, report)  # after every tier: a crash in the next loses nothing
    return report


def write_report(ctx: JobContext, report: TiersReport) -> None:
    """``gate/tiers/tiers.json`` and ``tiers.md`` in the job's run, and the tiers tag."""
    ctx.write("gate/tiers", "tiers.json", report.model_dump_json(indent=2))
    ctx.write("gate/tiers", "tiers.md", render_table(report))
    summary = ",".join(
        f"{r.name}={r.decision}" + (f":v{r.version}" if r.version else "") for r in report.rows
    )
    ctx.tracker.set_tags({T.TIERS: summary[:4000]})


def one_tier(ctx: JobContext, trained: Trained, spec: TierSpec, ref: Reference, device: str) -> TierRow:
    """One tier in its nested run; an error is a row of its own, never an exception out of here."""
    child = start_run(ctx.recipe, ctx.settings, f"tier-{spec.name}", parent_run_id=ctx.tracker.run_id)
    try:
        with lifecycle(child):
            tctx = replace(ctx, tracker=child, out=ctx.out / "tiers" / spec.name)
            row, decision = _run_tier(
                tctx, trained, spec, ref, _Where(device, ctx.tracker.run_id, ctx.out / "export")
            )
        ctx.write(f"gate/tiers/{spec.name}", "decision.json", decision.model_dump_json(indent=2))
        return row
    except Exception as exc:  # noqa: BLE001 - a broken tier is reported; full precision goes on
        logger.warning("tier %s failed: %s: %s", spec.name, type(exc).__name__, exc)
        reason = f"tier {spec.name}: could not be produced or scored: {type(exc).__name__}: {exc}"
        row = TierRow(
            name=spec.name,
            quantizer=spec.quantizer,
            bits=spec.bits,
            group_size=spec.group_size,
            decision="error",
            reasons=(reason[:2000],),
            run_id=child.run_id,
        )
        return row
    finally:
        gc.collect()


@dataclass(frozen=True)
class _Where:
    device: str
    parent_run_id: str
    source: Path  # the full-precision export


def _run_tier(
    tctx: JobContext, trained: Trained, spec: TierSpec, ref: Reference, where: _Where
) -> tuple[TierRow, GateDecision]:
    folder = tctx.out / "model"
    model, quantizer, quantize_s = produce_tier(spec, where.source, folder, device=where.device)
    tctx.lineage = tctx.lineage.extend(model_sha=weights_sha(folder))  # the job's, but these weights
    tctx.tracker.set_tags(
        tctx.lineage.tags()
        | {T.TIER: spec.name, T.TIER_OF: where.parent_run_id, T.SUITE: tctx.recipe.suite}
        | {T.SEED: str(tctx.recipe.seed)}
    )
    tctx.tracker.log_params(
        {
            "tier.name": spec.name,
            "tier.quantizer": spec.quantizer,
            "tier.library": quantizer.version,
            "tier.bits": spec.bits,
            "tier.group_size": spec.group_size,
            "tier.device": where.device,
        }
    )
    scores = score(tctx, trained, model, f"tier-{spec.name}")
    tctx.write("scores", "tier.json", scores.model_dump_json(indent=1))
    gate = tctx.recipe.tier_gate
    fid = fidelity(
        trained.model,
        model,
        trained.tokenizer,
        ref.texts,
        add_special_tokens=trained.prompt_format.add_special_tokens,
    )
    arena_result = None
    if gate.arena and ref.cases:
        answers = arena_outputs(tctx, trained, model, ref.cases)
        family = tctx.recipe.base_model.family or str(trained.model.config.model_type)
        arena_result = judge_outputs(tctx, ref.cases, answers, ref.answers, family)
    decision = decide_tier(
        gate, tctx.recipe.gate, spec.name, ref.scores, scores, arena_result, fid, tctx.lineage.digests()
    )
    tctx.write("gate", "decision.json", decision.model_dump_json(indent=2))
    row = TierRow(
        name=spec.name,
        quantizer=spec.quantizer,
        library=quantizer.version,
        bits=spec.bits,
        group_size=spec.group_size,
        decision=decision.decision,
        reasons=tuple(c.reason for c in decision.failed),
        size_bytes=weights_size(folder),
        ms_per_case=scores.metrics.get("latency/ms_per_case", float("nan")),
        quantize_s=quantize_s,
        metrics=dict(scores.metrics),
        fidelity=fid,
        arena={k: float(getattr(arena_result, k)) for k in ("wins", "losses", "ties", "win_rate")}
        if arena_result
        else {},
        model_sha=tctx.lineage.model_sha,
        run_id=tctx.tracker.run_id,
    )
    _log_row(tctx, row)
    if decision.decision == "pass":
        _package(tctx, trained, row, decision, where.parent_run_id)
    del model
    return row, decision


def _log_row(tctx: JobContext, row: TierRow) -> None:
    values = {f"tier/{k}": v for k, v in row.metrics.items()}
    values |= {"tier/size_mb": (row.size_bytes or 0) / 1e6, "tier/quantize_s": row.quantize_s}
    if row.fidelity:
        values |= {
            "tier/mean_kl": row.fidelity.mean_kl,
            "tier/p99_kl": row.fidelity.p99_kl,
            "tier/top1_agreement": row.fidelity.top1_agreement,
        }
    tctx.tracker.log_metrics({k: float(v) for k, v in values.items() if v == v}, step=0)
    tctx.tracker.set_tags({T.DECISION: row.decision})


def _package(tctx: JobContext, trained: Trained, row: TierRow, decision: GateDecision, parent: str) -> None:
    text = render_tier_card(tctx.recipe.registry.model_name, row, decision, parent)
    tctx.write("gate", "model_card.md", text)
    tctx.registry.log_candidate(
        tctx.tracker.run_id,
        tctx.out / "model",
        template=trained.prompt_format,
        max_new_tokens=tctx.suite.max_new_tokens("heldout"),
        extra_files={"model_card.md": text},
        input_example=tctx.suite.heldout[0].input_text if tctx.suite.heldout else "",
    )
    promotion.sign_candidate(
        tctx.registry, tctx.tracker.run_id, decision, tctx.settings.gate_key, tier=row.name
    )


def register_tiers(ctx: JobContext, report: TiersReport) -> TiersReport:
    """Register every passing tier as its own version, aliased ``<alias>-<tier>``; a refusal is its row's."""
    reg = ctx.recipe.registry
    for row in report.rows:
        if row.decision != "pass":
            continue
        try:
            version = promotion.register_run(
                ctx.registry,
                row.run_id,
                name=reg.model_name,
                alias=f"{reg.alias}-{row.name}",
                key=ctx.settings.gate_key,
                extra_tags={
                    T.TIER: row.name,
                    T.TIER_OF: ctx.tracker.run_id,
                    T.CANDIDATE_KIND: ctx.recipe.candidate.kind,
                },
            )
        except FtlineageError as exc:
            logger.warning("tier %s was not registered: %s", row.name, exc)
            fixed = row.model_copy(update={"decision": "error", "reasons": (f"not registered: {exc}",)})
            report = report.with_row(fixed)
            continue
        report = report.with_row(row.model_copy(update={"version": version}))
    write_report(ctx, report)
    record_values(ctx, _summary(report))
    return report


def _summary(report: TiersReport) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in report.rows:
        out[f"tier.{r.name}.decision"] = r.decision
        if r.size_bytes:
            out[f"tier.{r.name}.size_ratio"] = r.size_bytes / report.reference_size_bytes
        if r.fidelity:
            out[f"tier.{r.name}.mean_kl"] = r.fidelity.mean_kl
            out[f"tier.{r.name}.top1_agreement"] = r.fidelity.top1_agreement
    return out
