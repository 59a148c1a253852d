"""One function per stage: audit, train, arena, gate, register. Each reads/extends the context."""

from __future__ import annotations

import json
import random
from typing import Any

from ftlineage import arena, audit, lineage
from ftlineage import tags as T
from ftlineage.data import replay_rows
from ftlineage.errors import RecipeError
from ftlineage.gate import card, promotion, rule
from ftlineage.logging import get_logger
from ftlineage.models import load_model, make_generator
from ftlineage.pipeline._baseline import resolve_baseline
from ftlineage.pipeline._context import Arm, Audited, Baseline, JobContext, Row, Split, Trained
from ftlineage.pipeline._outbox import for_job
from ftlineage.scoring import SuiteScores
from ftlineage.tasks import Case
from ftlineage.tracking import Span, primary_mlflow
from ftlineage.training import case_source

logger = get_logger(__name__)


def audit_rows(ctx: JobContext, progress: bool | None = None) -> tuple[Any, list[Row]]:
    """The audit of the recipe's corpus (pure: nothing logged) and the rows it keeps."""
    result = audit.audit_corpus(
        ctx.recipe.corpus,
        ctx.recipe.audit,
        suite_prompts=ctx.suite.prompts(),
        seed=ctx.recipe.seed,
        corpus_sha=ctx.lineage.corpus_sha,
        settings=ctx.settings,
        progress=progress,
    )
    keep = result.kept[result.facts.valid]
    return result, [row for row, k in zip(ctx.rows, keep.tolist(), strict=True) if k]


def audit_stage(ctx: JobContext) -> Audited:
    """Stage 1: audit the whole corpus before any split or tokenization."""
    result, kept = audit_rows(ctx)
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
    return Audited(report, kept)


def record_values(ctx: JobContext, values: dict[str, Any]) -> None:
    """One-off values of a run (counts, arena totals, base scores) as params, not as step-0 metrics.

    Params are what a run compares on and they do not crowd the charts. A resumed run that gets
    a different value (it cannot change a param) keeps the first and says so in a tag.
    """
    shown = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in values.items()}
    try:
        ctx.tracker.log_params(shown)
    except Exception as exc:  # noqa: BLE001 - MLflow refuses to change a param of a resumed run
        if primary_mlflow(ctx.tracker) is None or "param" not in str(exc).lower():
            raise
        ctx.tracker.set_tags({T.PARAMS_KEPT: ",".join(sorted(values))[:4000]})


def write_scores(ctx: JobContext, label: str, metrics: dict[str, float], cases: list[Any]) -> SuiteScores:
    """One side's per-case scores as ``scores/<label>.json`` (what the gate and the feed read)."""
    report = SuiteScores(
        suite_sha=ctx.suite.sha,
        model_label=label,
        metrics=metrics,
        cases=tuple(cases),
        plan=ctx.suite.plan.model_dump(mode="json", by_alias=True),
    )
    ctx.write("scores", f"{label}.json", report.model_dump_json(indent=1))
    return report


def upsample(rows: list[Row], weights: dict[str, int]) -> list[Row]:
    """Each row repeated ``weights[source]`` times (once when its source has no weight), in order.

    A weight naming a source no row has is a mistake (a typo would silently train on nothing
    extra): :class:`RecipeError` names the sources there are.
    """
    if not weights:
        return rows
    sources = {str(r.get("source", "")) for r in rows}
    unknown = sorted(set(weights) - sources)
    if unknown:
        raise RecipeError(
            f"training.source_weights names source {unknown[0]!r}, but no training row has it; "
            f"the sources are {', '.join(repr(s) for s in sorted(sources))}"
        )
    return [r for r in rows for _ in range(weights.get(str(r.get("source", "")), 1))]


def split_stage(ctx: JobContext, kept: list[Row]) -> Split:
    """Seeded train/validation split of the audited rows, plus replay rows; records the dataset SHA."""
    rows = sorted(kept, key=lambda r: r["id"])
    random.Random(ctx.recipe.seed).shuffle(rows)
    n_val = int(len(rows) * ctx.recipe.training.validation_fraction)
    train, val = rows[n_val:], rows[:n_val]
    spec = ctx.recipe.training
    train = upsample(train, spec.source_weights)
    n_replay = int(len(train) * spec.replay_fraction / (1 - spec.replay_fraction))
    replay = replay_rows(
        n_replay,
        seed=ctx.recipe.seed,
        template=ctx.suite.spec("drift").template if ctx.suite.drift else "{prompt}",
        exclude=[c.input_text for c in ctx.suite.drift],
    )
    ctx.add_lineage(
        dataset_sha=lineage.sha256_rows(
            [{"part": "train", **r} for r in train]
            + [{"part": "replay", **r} for r in replay]
            + [{"part": "validation", **r} for r in val],
            domain="dataset",
        )
    )
    record_values(
        ctx,
        {"data/train_rows": len(train), "data/validation_rows": len(val), "data/replay_rows": len(replay)},
    )
    return Split(train, val, replay)


def judgement_spans(
    records: list[dict[str, Any]],
    cases: list[Case],
    cand: list[str],
    base: list[str],
    *,
    programmatic: bool,
) -> list[Span]:
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
        source_type = "CODE" if programmatic else "LLM_JUDGE"
        assessment = {
            "name": "arena_winner",
            "value": winner,
            "kind": "feedback",
            "source": r["judge"],
            "source_type": source_type,
            "rationale": r["reason"],
        }
        spans.append(
            Span(
                name=f"judge {r['id']}",
                type="EVALUATOR" if programmatic else "LLM",
                inputs={"prompt": cases[i].input_text, "first": first, "second": second},
                outputs={
                    "pick": r["pick"],
                    "winner": winner,
                    "reason": r["reason"],
                    "candidate": cand[i],
                    "baseline": base[i],
                },
                attributes=attrs,
                assessments=(assessment,),
            )
        )
    return spans


def arena_stage(ctx: JobContext, trained: Trained) -> arena.ArenaResult:
    """Stage 3: candidate vs base on the arena pool, judged with randomized positions."""
    cases = arena_cases(ctx)
    if trained.arms is not None:  # a candidate not trained here: each side answers through its arm
        cand, base = (arm_outputs(ctx, arm, cases) for arm in trained.arms)
    else:
        bm = ctx.recipe.base_model
        cand = arena_outputs(ctx, trained, trained.model, cases)
        base_model, base_tok = load_model(trained.base_ref, device=bm.device, dtype=bm.dtype)
        base = arena_outputs(ctx, trained, base_model, cases, tokenizer=base_tok)
    model_type = getattr(getattr(trained.model, "config", None), "model_type", "")
    family = ctx.recipe.base_model.family or str(model_type or "unknown")
    result = judge_outputs(ctx, cases, cand, base, family)
    keys = (*ARENA_SUMMARY, "bootstrap_low", "bootstrap_high", "position_bias", "cache_hits", "judge_calls")
    record_values(ctx, {f"arena/{k}": getattr(result, k) for k in keys})
    return result


def arena_cases(ctx: JobContext) -> list[Case]:
    """The suite's arena pool, cut to the recipe's ``arena.limit``."""
    cases = list(ctx.suite.arena)
    return cases[: ctx.recipe.arena.limit] if ctx.recipe.arena.limit else cases


def arena_outputs(
    ctx: JobContext, trained: Trained, model: Any, cases: list[Case], *, tokenizer: Any = None
) -> list[str]:
    """``model``'s answers to the arena cases, prompted in the candidate's format (and tokenizer)."""
    fmt = trained.prompt_format
    prompts = fmt.render_all(trained.tokenizer, [case_source(c) for c in cases])
    tok = tokenizer if tokenizer is not None else trained.tokenizer
    gen = make_generator(ctx.recipe.generation, model, tok, add_special_tokens=fmt.add_special_tokens)
    return gen.generate(prompts, max_new_tokens=ctx.suite.max_new_tokens("arena"))[0]


def arm_outputs(ctx: JobContext, arm: Arm, cases: list[Case]) -> list[str]:
    """``arm``'s answers to the arena cases, in its own prompt format."""
    prompts = arm.fmt.render_all(arm.tokenizer, [case_source(c) for c in cases])
    return arm.generator.generate(prompts, max_new_tokens=ctx.suite.max_new_tokens("arena"))[0]


def judge_outputs(
    ctx: JobContext, cases: list[Case], cand: list[str], base: list[str], family: str
) -> arena.ArenaResult:
    """Judge candidate vs baseline answers; write ``arena/`` files and the trace to ``ctx``'s run."""
    spec = ctx.recipe.arena
    opts = arena.ArenaOptions(
        seed=ctx.recipe.seed,
        candidate_family=family,
        confidence=spec.confidence,
        both_orders=spec.both_orders,
        concurrency=spec.concurrency,
        allow_same_family=spec.allow_same_family,
        effect_floor=spec.effect_floor,
        max_unscored=spec.max_unscored,
    )
    cache_file = ctx.settings.cache_dir / "verdicts.sqlite"
    cache = arena.VerdictCache(cache_file, ctx.settings.gate_key) if spec.cache else None
    records: list[dict[str, Any]] = []
    try:
        result = arena.run_arena(
            cases,
            cand,
            base,
            arena.get_judge(spec.judge, suite=ctx.suite, **spec.judge_options),
            opts,
            cache=cache,
            lineage=ctx.lineage.tags(),
            on_judgement=records.append,
        )
    finally:
        if cache:
            cache.close()
    ctx.write("arena", "arena.json", result.model_dump_json(indent=2))
    index = {c.id: i for i, c in enumerate(cases)}
    answered = [{**r, "candidate": cand[index[r["id"]]], "baseline": base[index[r["id"]]]} for r in records]
    ctx.write("arena", "judgements.jsonl", "".join(json.dumps(r) + "\n" for r in answered))
    summary = {k: getattr(result, k) for k in ARENA_SUMMARY}
    for_job(ctx).send(  # a rerun judges again: its trace replaces the killed run's
        "arena",
        judgement_spans(records, cases, cand, base, programmatic=result.judge_family == "programmatic"),
        {**ctx.lineage.tags(), T.JUDGE: result.judge},
        inputs={"pairs": len(cases), "judge": result.judge, "seed": result.seed},
        outputs={k: v for k, v in summary.items() if v == v},
        replace=True,
    )
    return result


ARENA_SUMMARY = ("wins", "losses", "ties", "unscored", "win_rate", "ci_low", "ci_high")


def gate_stage(
    ctx: JobContext, trained: Trained, arena_result: arena.ArenaResult
) -> tuple[Baseline, rule.GateDecision]:
    """Apply the promotion rule against the champion alias (else the base); write ``gate/decision.json``."""
    baseline = resolve_baseline(ctx, trained.baseline)
    if baseline.label != "base":
        ctx.write("scores", "gate_baseline.json", baseline.scores.model_dump_json(indent=1))
    ctx.tracker.set_tags({T.BASELINE: baseline.label})
    decision = rule.decide_scores(
        ctx.recipe.gate, trained.candidate, baseline.scores, arena_result, ctx.lineage.digests()
    )
    ctx.write("gate", "decision.json", decision.model_dump_json(indent=2))
    return baseline, decision


def package_stage(
    ctx: JobContext,
    trained: Trained,
    baseline: Baseline,
    decision: rule.GateDecision,
    arena_result: arena.ArenaResult,
    audit_report: audit.AuditReport | None,
    tiers: Any = None,
    *,
    pyfunc: bool = True,
) -> None:
    """On a pass: the model card (Markdown + JSON, with the tiers table) and the pyfunc, under ``model/``.

    A prompt candidate (``pyfunc=False``) is registered as a prompt version: the card alone.
    """
    model_card = card.build_card(
        ctx.recipe,
        ctx.suite,
        ctx.lineage.digests(),
        decision,
        arena_result,
        audit_report,
        {"baseline": dict(baseline.scores.metrics), "candidate": dict(trained.candidate.metrics)},
        baseline_label=baseline.label,
        tiers=tiers,
    )
    files = {
        "model_card.md": card.render_markdown(model_card),
        "model_card.json": model_card.model_dump_json(indent=2),
    }
    for name, text in files.items():
        ctx.write("gate", name, text)
    if not pyfunc:
        promotion.sign_candidate(
            ctx.registry, ctx.tracker.run_id, decision, ctx.settings.gate_key, kind="prompt"
        )
        return
    ctx.registry.log_candidate(
        ctx.tracker.run_id,
        ctx.out / "export",
        template=trained.prompt_format,
        max_new_tokens=ctx.suite.max_new_tokens("heldout"),
        extra_files=files,
        input_example=ctx.suite.heldout[0].input_text if ctx.suite.heldout else "",
        metric_step=trained.best_step,
    )
    promotion.sign_candidate(ctx.registry, ctx.tracker.run_id, decision, ctx.settings.gate_key)


def register_stage(ctx: JobContext) -> str:
    """Register the packaged run and alias it (the same path as ``ftlineage promote``)."""
    reg, registry = ctx.recipe.registry, ctx.registry
    own = {v.version for v in registry.find_versions(reg.model_name, run_id=ctx.tracker.run_id)}
    stale = [v for v in promotion.half_promoted(registry, reg.model_name)[0] if v not in own]
    if stale:
        ctx.tracker.set_tags({T.HALF_PROMOTED: ",".join(stale)})
        logger.warning(
            "warning: %r has versions %s registered but never aliased (a crashed promotion); "
            "`ftlineage registry check %s --clean` removes them",
            reg.model_name,
            ", ".join(stale),
            reg.model_name,
        )
    aliases = promotion.Aliases.of(reg)
    return promotion.register_run(
        registry,
        ctx.tracker.run_id,
        name=reg.model_name,
        alias=reg.alias,
        key=ctx.settings.gate_key,
        stage=aliases.stage(reg.alias) if reg.stages else None,
    )
