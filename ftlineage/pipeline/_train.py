"""Stage 2 in the main job: score the base, fine-tune with the callback, keep the best checkpoint.

A crashed run resumes here: the checkpoints under the run's work folder carry their scores
(``ftlineage_checkpoint.json``), the Trainer restores optimizer and RNG state, the tracker
skips metric steps the store already has, and each checkpoint's trace goes through the run's
outbox, so it is in the store once whatever the moment of the kill.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ftlineage import lineage
from ftlineage import tags as T
from ftlineage.models import (
    FORMAT_FILE,
    PROMPT_TEMPLATE_FILE,
    PromptFormat,
    format_for,
    load_model,
    make_generator,
    resolve_base,
)
from ftlineage.pipeline._context import JobContext, Split, Trained
from ftlineage.pipeline._outbox import for_job
from ftlineage.pipeline._sinks import CASES_FILE, TrackerSink
from ftlineage.pipeline._stages import record_values, write_scores
from ftlineage.readers import parse_versioned
from ftlineage.scoring import CaseScore, CheckpointCases, SuiteScores
from ftlineage.tracking import LoggedModelSink, primary_mlflow
from ftlineage.training import (
    CheckpointScore,
    CheckpointSink,
    EvalGateCallback,
    GatePolicy,
    build_trainer,
    evaluate_model,
    export_model,
    load_history,
    prepare_model,
    restore_checkpoint,
    tokenize_rows,
)

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json", "model.safetensors", "config.json")


def gate_policy(ctx: JobContext) -> GatePolicy:
    """The callback's policy from the recipe (drift bands shared with the gate)."""
    t, g = ctx.recipe.training, ctx.recipe.gate
    return GatePolicy(
        select=ctx.suite.primary_metric(),
        noise=g.drift_noise_points,
        fail=g.drift_fail_points,
        patience=t.early_stop_patience,
        min_delta=t.early_stop_min_delta,
        stop_on_drift=t.stop_on_drift,
        confirm=t.drift_confirm,
    )


def prompt_format(ctx: JobContext, tokenizer: Any) -> PromptFormat:
    """The recipe's prompt format for this tokenizer; records its digest as ``prompt_sha``."""
    r = ctx.recipe
    fmt = format_for(tokenizer, r.prompt_template, chat=r.chat_mode(), system=r.system_prompt)
    ctx.add_lineage(prompt_sha=fmt.sha())
    return fmt


def _scorer(ctx: JobContext, tokenizer: Any, fmt: PromptFormat, box: dict[str, Any]) -> Any:
    limit, drift_limit = ctx.recipe.training.eval_limit, ctx.recipe.training.drift_limit

    def evaluate(model: Any) -> dict[str, float]:
        gen = make_generator(
            ctx.recipe.generation, model, tokenizer, add_special_tokens=fmt.add_special_tokens
        )
        metrics, cases = evaluate_model(
            model, tokenizer, ctx.suite, fmt, limit=limit, drift_limit=drift_limit, generator=gen
        )
        box["last"] = cases
        return metrics

    return evaluate


def _last_checkpoint(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    return last if last and (Path(last) / "trainer_state.json").is_file() else None


DONE_FILE = "ftlineage_training_done.json"


class TrainingDone(BaseModel):
    """What a completed ``trainer.train`` left beside its checkpoints (``ftlineage_training_done.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    final_step: int
    stop_reason: str | None = None


_RETRAIN = "delete the run's checkpoints folder to train again"


def _finished(folder: Path) -> TrainingDone | None:
    """What a completed ``trainer.train`` left (final step, stop reason), or ``None``."""
    path = folder / DONE_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    return parse_versioned(TrainingDone, text, str(path), fix=_RETRAIN) if text is not None else None


def _mark_finished(folder: Path, step: int, stop_reason: str | None) -> None:
    """Written only after training returned: every checkpoint is saved and scored by then."""
    body = TrainingDone(final_step=step, stop_reason=stop_reason)
    (folder / DONE_FILE).write_text(body.model_dump_json(), encoding="utf-8")


def _upload_adapters(ctx: JobContext, best: CheckpointScore, final: CheckpointScore) -> None:
    """Only the best and the final adapters leave the machine, never every checkpoint."""
    for label, cp in (("best", best), ("final", final)):
        for name in ADAPTER_FILES:
            path = Path(cp.path) / name
            if path.is_file():
                ctx.tracker.log_artifact(path, f"adapters/{label}")


def _tracker_sink(ctx: JobContext, baseline: dict[str, float], box: dict[str, Any]) -> TrackerSink:
    """The sink for the job's tracker: metrics, plot, and a trace per scored checkpoint."""
    known = ctx.lineage.digests()
    trace_lineage: dict[str, str] = {
        k: known[k] for k in ("prompt_sha", "dataset_sha", "suite_sha") if k in known
    }
    trace_lineage["rubric_version"] = ctx.suite.rubric_version()
    cases = [c for part in (ctx.suite.heldout, ctx.suite.drift) for c in part]
    prompts = {c.id: c.input_text for c in cases}
    references = {c.id: str(c.reference_text) for c in cases if c.reference is not None}
    plot = ctx.stage_dir("plots") / "checkpoints.png"
    fail = ctx.recipe.gate.drift_fail_points
    return TrackerSink(
        ctx.tracker, baseline, plot, fail, box, trace_lineage, prompts, references, outbox=for_job(ctx)
    )


def train_stage(ctx: JobContext, split: Split, sinks: Sequence[CheckpointSink] = ()) -> Trained:
    """Score the base, fine-tune (resuming a crashed run), restore and export the best checkpoint."""
    import torch

    base_ref = resolve_base(ctx.recipe.base_model, ctx.settings.cache_dir, progress=ctx.settings.progress)
    bm = ctx.recipe.base_model
    model, tok = load_model(base_ref, device=bm.device, dtype=bm.dtype, quantization=bm.quantization)
    ctx.add_lineage(base_model_sha=lineage.sha256_state_dict(model.state_dict()))
    fmt = prompt_format(ctx, tok)
    box: dict[str, Any] = {}
    evaluate = _scorer(ctx, tok, fmt, box)
    baseline = evaluate(model)
    base_cases = box["last"]
    ctx.tracker.log_metrics(baseline, step=0)
    record_values(ctx, {f"baseline/{k}": v for k, v in baseline.items()})
    spec = ctx.recipe.training
    examples = tokenize_rows(split.train, tok, fmt, spec.max_seq_len)
    examples += tokenize_rows(split.replay, tok, fmt.with_template("{prompt}"), spec.max_seq_len)
    torch.manual_seed(ctx.recipe.seed)  # adapter init must not depend on what ran before
    peft_model = prepare_model(model, spec)
    folder = ctx.stage_dir("checkpoints")
    last = _last_checkpoint(folder)
    history = load_history(folder, up_to=int(last.rsplit("-", 1)[1])) if last else []
    sink = _tracker_sink(ctx, baseline, box)
    # the base model's scores, traced as step 0 (once: the outbox keeps it across a resume)
    sink.trace_cases(0, base_cases, ctx.lineage.base_model_sha, baseline)
    policy = gate_policy(ctx)
    models = _model_sink(ctx)
    extra = [models] if models else []
    callback = EvalGateCallback(evaluate, baseline, [sink, *extra, *sinks], policy, spec.eval_every, history)
    trainer = build_trainer(
        peft_model,
        tok,
        examples,
        spec,
        output_dir=folder,
        seed=ctx.recipe.seed,
        callbacks=[callback],
        progress=ctx.settings.progress,
    )
    done = _finished(folder)
    if done is None:  # a rerun after training finished (killed in the arena, say) does not train again
        trainer.train(resume_from_checkpoint=last)
        _mark_finished(folder, trainer.state.global_step, callback.stop_reason)
    else:
        callback.stop_reason = done.stop_reason
    best = callback.best()
    restore_checkpoint(peft_model, best.path, spec)
    _upload_adapters(ctx, best, max(callback.checkpoints, key=lambda c: c.step))
    merged = export_model(peft_model, tok, ctx.stage_dir("export"), spec)
    (ctx.stage_dir("export") / PROMPT_TEMPLATE_FILE).write_text(ctx.recipe.prompt_template, encoding="utf-8")
    (ctx.stage_dir("export") / FORMAT_FILE).write_text(fmt.to_json(), encoding="utf-8")
    ctx.add_lineage(model_sha=lineage.sha256_state_dict(merged.state_dict()))
    ctx.tracker.log_metrics({f"candidate/{k}": v for k, v in best.metrics.items()}, step=best.step)
    timing = {
        T.time_tag("eval"): f"{callback.eval_seconds:.1f}",
        T.time_tag("log"): f"{callback.log_seconds:.2f}",
    }
    ctx.tracker.set_tags({T.BEST_STEP: str(best.step), **timing, **_chosen_drift_tags(callback, best.step)})
    if models:
        models.mark_chosen(best.step)
    base_scores, cand_scores = _write_scores(ctx, (baseline, base_cases), best)
    return Trained(
        base_ref=base_ref,
        model=merged,
        tokenizer=tok,
        baseline=base_scores,
        candidate=cand_scores,
        best_step=best.step,
        assessments=tuple(callback.assessments),
        prompt_format=fmt,
    )


def _model_sink(ctx: JobContext) -> Any | None:
    """A logged model per checkpoint, when the job tracks to MLflow."""
    mlflow_tracker = primary_mlflow(ctx.tracker)
    return LoggedModelSink(mlflow_tracker) if mlflow_tracker else None


def _chosen_drift_tags(callback: EvalGateCallback, step: int) -> dict[str, str]:
    """Drift tags of the checkpoint the gate judges (not of whichever was scored last)."""
    chosen = next((a for a in reversed(callback.assessments) if a.step == step), None)
    if chosen is None:  # scored before a resume: its assessment is in the run already
        return {}
    return {
        T.DRIFT_WORST: chosen.worst,
        T.DRIFT_RECOMMENDATION: chosen.recommendation or "none",
    }


def _write_scores(
    ctx: JobContext, base: tuple[dict[str, float], list[CaseScore]], best: CheckpointScore
) -> tuple[SuiteScores, SuiteScores]:
    """Per-case scores of the base and of the chosen checkpoint, as ``scores/*.json``."""
    path = Path(best.path) / CASES_FILE
    saved = parse_versioned(
        CheckpointCases,
        path.read_text(encoding="utf-8"),
        str(path),
        fix=_RETRAIN,
        upgrade=CheckpointCases.upgrade,
    )
    return write_scores(ctx, "baseline", *base), write_scores(
        ctx, "candidate", best.metrics, list(saved.cases)
    )
