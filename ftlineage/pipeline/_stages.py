"""One function per stage: audit, train, arena, gate, register. Each reads/extends the context."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

from ftlineage import arena, audit, lineage
from ftlineage.data._replay import replay_rows
from ftlineage.gate import card, evidence, rule
from ftlineage.models import generate, load_model
from ftlineage.pipeline._context import JobContext
from ftlineage.tasks import Case


def audit_stage(ctx: JobContext) -> audit.AuditReport:
    """Stage 1: audit the whole corpus before any split or tokenization."""
    result = audit.audit_corpus(
        ctx.recipe.corpus,
        ctx.recipe.audit,
        suite_prompts=ctx.suite.prompts(),
        seed=ctx.recipe.seed,
        corpus_sha=ctx.lineage["corpus_sha"],
    )
    files = audit.write_outputs(result, ctx.stage_dir("audit"))
    for path in files.values():
        ctx.tracker.log_artifact(path, "audit")
    report = result.report
    metrics = {
        "audit/rows_in": report.rows_in,
        "audit/rows_kept": report.rows_kept,
        "audit/rows_malformed": report.rows_malformed,
    }
    metrics.update({f"audit/{k}": v for k, v in report.counts.items()})
    record_values(ctx, metrics)
    keep = result.kept[result.facts.valid]
    ctx.results["kept"] = [row for row, k in zip(ctx.rows, keep.tolist(), strict=True) if k]
    return report


def record_values(ctx: JobContext, values: dict[str, Any]) -> None:
    """One-off values of a run (counts, arena totals, base scores) as params, not as step-0 metrics.

    Params are what a run compares on and they do not crowd the charts. A resumed run that gets
    a different value (it cannot change a param) keeps the first and says so in a tag.
    """
    from ftlineage.tracking._native import primary_mlflow

    shown = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in values.items()}
    try:
        ctx.tracker.log_params(shown)
    except Exception as exc:  # noqa: BLE001 - MLflow refuses to change a param of a resumed run
        if primary_mlflow(ctx.tracker) is None or "param" not in str(exc).lower():
            raise
        ctx.tracker.set_tags({"ftlineage.params_kept_from_first_attempt": ",".join(sorted(values))[:4000]})


def split_stage(ctx: JobContext) -> list[dict[str, Any]]:
    """Seeded train/validation split of the audited rows, plus replay rows; records dataset SHA."""
    rows = sorted(ctx.results["kept"], key=lambda r: r["id"])
    random.Random(ctx.recipe.seed).shuffle(rows)
    n_val = int(len(rows) * ctx.recipe.training.validation_fraction)
    train, val = rows[n_val:], rows[:n_val]
    spec = ctx.recipe.training
    n_replay = int(len(train) * spec.replay_fraction / (1 - spec.replay_fraction))
    replay = replay_rows(
        n_replay,
        seed=ctx.recipe.seed,
        template=ctx.suite.spec("drift").template if ctx.suite.drift else "{prompt}",
        exclude=[c.input_text for c in ctx.suite.drift],
    )
    ctx.lineage["dataset_sha"] = lineage.sha256_rows(
        [{"part": "train", **r} for r in train]
        + [{"part": "replay", **r} for r in replay]
        + [{"part": "validation", **r} for r in val],
        domain="dataset",
    )
    record_values(
        ctx,
        {"data/train_rows": len(train), "data/validation_rows": len(val), "data/replay_rows": len(replay)},
    )
    ctx.results["replay"] = replay
    return train


def judgement_spans(
    records: list[dict[str, Any]],
    cases: list[Case],
    cand: list[str],
    base: list[str],
    *,
    programmatic: bool,
) -> list[dict[str, Any]]:
    """One span per judgement an auditor can replay.

    The input, both answers as shown and by model, the pick un-blinded and the judge's reason;
    typed EVALUATOR for a programmatic judge, LLM otherwise.
    """
    index = {c.id: i for i, c in enumerate(cases)}
    spans = []
    for r in records:
        i, cand_first = index[r["id"]], bool(r["candidate_first"])
        first, second = (cand[i], base[i]) if cand_first else (base[i], cand[i])
        shown = {
            "first": "candidate" if cand_first else "baseline",
            "second": "baseline" if cand_first else "candidate",
        }
        winner = shown.get(r["pick"], r["pick"])
        attrs = {k: v for k, v in r.items() if isinstance(v, (str, int, float, bool))}
        spans.append(
            {
                "name": f"judge {r['id']}",
                "type": "EVALUATOR" if programmatic else "LLM",
                "inputs": {"prompt": cases[i].input_text, "first": first, "second": second},
                "outputs": {
                    "pick": r["pick"],
                    "winner": winner,
                    "reason": r["reason"],
                    "candidate": cand[i],
                    "baseline": base[i],
                },
                "attributes": attrs,
                "assessments": [
                    {
                        "name": "arena_winner",
                        "value": winner,
                        "kind": "feedback",
                        "source": r["judge"],
                        "source_type": "CODE" if programmatic else "LLM_JUDGE",
                        "rationale": r["reason"],
                    }
                ],
            }
        )
    return spans


def arena_stage(ctx: JobContext) -> arena.ArenaResult:
    """Stage 3: candidate vs base on the arena pool, judged with randomized positions."""
    cases = list(ctx.suite.arena)
    if ctx.recipe.arena.limit:
        cases = cases[: ctx.recipe.arena.limit]
    prompts = [ctx.recipe.render(c.input_text) for c in cases]
    max_new = ctx.suite.max_new_tokens("arena")
    tok = ctx.results["tokenizer"]
    cand, _ = generate(ctx.results["merged"], tok, prompts, max_new_tokens=max_new)
    base_model, base_tok = load_model(ctx.results["base_ref"])
    base, _ = generate(base_model, base_tok, prompts, max_new_tokens=max_new)
    spec = ctx.recipe.arena
    opts = arena.ArenaOptions(
        seed=ctx.recipe.seed,
        candidate_family=ctx.recipe.base_model.family or str(ctx.results["merged"].config.model_type),
        confidence=spec.confidence,
        both_orders=spec.both_orders,
        concurrency=spec.concurrency,
        allow_same_family=spec.allow_same_family,
        effect_floor=spec.effect_floor,
        max_unscored=spec.max_unscored,
    )
    cache_file = ctx.settings.cache_dir / "verdicts.sqlite"
    cache = arena.VerdictCache(cache_file, evidence.gate_key()) if spec.cache else None
    records: list[dict[str, Any]] = []
    try:
        result = arena.run_arena(
            cases,
            cand,
            base,
            arena.get_judge(spec.judge, suite=ctx.suite, **spec.judge_options),
            opts,
            cache=cache,
            lineage=lineage.lineage_tags(ctx.lineage),
            on_judgement=records.append,
        )
    finally:
        if cache:
            cache.close()
    ctx.write("arena", "arena.json", result.model_dump_json(indent=2))
    ctx.write("arena", "judgements.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    summary = {
        k: getattr(result, k) for k in ("wins", "losses", "ties", "unscored", "win_rate", "ci_low", "ci_high")
    }
    ctx.tracker.log_trace(
        "arena",
        judgement_spans(records, cases, cand, base, programmatic=result.judge_family == "programmatic"),
        {**lineage.lineage_tags(ctx.lineage), "ftlineage.judge": result.judge},
        inputs={"pairs": len(cases), "judge": result.judge, "seed": result.seed},
        outputs={k: v for k, v in summary.items() if v == v},
    )
    keys = (
        "wins",
        "losses",
        "ties",
        "unscored",
        "win_rate",
        "ci_low",
        "ci_high",
        "bootstrap_low",
        "bootstrap_high",
        "position_bias",
        "cache_hits",
        "judge_calls",
    )
    record_values(ctx, {f"arena/{k}": getattr(result, k) for k in keys})
    return result


def gate_stage(ctx: JobContext, arena_result: arena.ArenaResult) -> rule.GateDecision:
    """Apply the promotion rule against ``@champion`` (else the base); write ``gate/decision.json``."""
    from ftlineage.pipeline._baseline import resolve_baseline

    label, baseline = resolve_baseline(ctx, ctx.results["baseline_scores"])
    ctx.results.update(baseline_label=label, gate_baseline=baseline.metrics)
    if label != "base":
        ctx.write("scores", "gate_baseline.json", baseline.model_dump_json(indent=1))
    ctx.tracker.set_tags({"ftlineage.baseline": label})
    decision = rule.decide_scores(
        ctx.recipe.gate, ctx.results["candidate_scores"], baseline, arena_result, dict(ctx.lineage)
    )
    ctx.write("gate", "decision.json", decision.model_dump_json(indent=2))
    return decision


def package_stage(
    ctx: JobContext,
    decision: rule.GateDecision,
    arena_result: arena.ArenaResult,
    audit_report: audit.AuditReport,
) -> None:
    """On a pass: the model card (Markdown + JSON) and the pyfunc, logged under ``model/``."""
    from ftlineage.tracking._registry import log_pyfunc

    model_card = card.build_card(
        ctx.recipe,
        ctx.suite,
        ctx.lineage,
        decision,
        arena_result,
        audit_report,
        {"baseline": ctx.results["gate_baseline"], "candidate": ctx.results["candidate"]},
        baseline_label=ctx.results["baseline_label"],
    )
    files = {
        "model_card.md": card.render_markdown(model_card),
        "model_card.json": model_card.model_dump_json(indent=2),
    }
    for name, text in files.items():
        ctx.write("gate", name, text)
    log_pyfunc(
        ctx.tracker.client,  # type: ignore[attr-defined]
        ctx.tracker.run_id,
        ctx.out / "export",
        ctx.recipe.prompt_template,
        ctx.suite.max_new_tokens("heldout"),
        extra_files=files,
        input_example=ctx.suite.heldout[0].input_text if ctx.suite.heldout else "",
        metric_step=ctx.results["best_step"],
    )


def _own_versions(ctx: JobContext, client: Any) -> set[str]:
    from ftlineage.tracking._registry import versions_of_run

    found = versions_of_run(client, ctx.recipe.registry.model_name, ctx.tracker.run_id)
    return {str(v.version) for v in found}


def register_stage(ctx: JobContext) -> str:
    """Register the packaged run in the registry and alias it (the same path as ``ftlineage promote``)."""
    from ftlineage.tracking._promote import register_run
    from ftlineage.tracking._registry import half_promoted

    client = ctx.tracker.client  # type: ignore[attr-defined]
    reg = ctx.recipe.registry
    stale = [v for v in half_promoted(client, reg.model_name)[0] if v not in _own_versions(ctx, client)]
    if stale:
        ctx.tracker.set_tags({"ftlineage.half_promoted_versions": ",".join(stale)})
        print(
            f"ftlineage: warning: {reg.model_name!r} has versions {', '.join(stale)} registered but never "
            f"aliased (a crashed promotion); `ftlineage registry check {reg.model_name} --clean` "
            "removes them",
            file=sys.stderr,
        )
    return register_run(
        client,
        ctx.tracker.run_id,
        name=reg.model_name,
        alias=reg.alias,
        key=evidence.gate_key(),
        stage=reg.stages,
    )
