"""The callback's sinks in the main job: the tracker(s), the refreshed plot, per-case scores."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ftlineage import tags as T
from ftlineage.lineage import lineage_tags, sha256_file
from ftlineage.pipeline._outbox import TraceOutbox
from ftlineage.scoring import CheckpointCases, format_points
from ftlineage.tracking import Span, Tracker
from ftlineage.training import Assessment, CheckpointScore, band_metrics, plot_checkpoints

CASES_FILE = "ftlineage_cases.json"
WEIGHTS = ("adapter_model.safetensors", "model.safetensors")


def weights_sha(folder: Path) -> str:
    """SHA-256 of a checkpoint's weights file (the adapter for LoRA), or "" when absent."""
    for name in WEIGHTS:
        if (folder / name).is_file():
            return sha256_file(folder / name)
    return ""


class TrackerSink:
    """Metrics with their step, drift drops, verdict tags and the plot, into one tracker.

    ``on_checkpoint`` flushes the tracker, so a checkpoint's scores are durable before the
    callback marks the checkpoint scored. Checkpoint traces go through ``outbox`` when given
    (once per step, also across a kill and resume; see :mod:`ftlineage.pipeline._outbox`).
    """

    def __init__(
        self,
        tracker: Tracker,
        base: dict[str, float],
        plot_path: Path,
        fail_points: float,
        cases: dict[str, list[Any]],
        lineage: dict[str, str] | None = None,
        prompts: dict[str, str] | None = None,
        references: dict[str, str] | None = None,
        outbox: TraceOutbox | None = None,
    ) -> None:
        self.tracker = tracker
        self.outbox = outbox
        self.base = base
        self.plot_path = plot_path
        self.fail_points = fail_points
        self.cases = cases  # filled by the evaluate function: {"last": [...]}
        self.lineage = lineage or {}  # prompt/dataset/suite SHAs and the rubric version
        self.prompts = prompts or {}
        self.references = references or {}

    def trace_cases(
        self, step: int, cases: Sequence[Any], model_sha: str, metrics: dict[str, float] | None = None
    ) -> None:
        """One trace per scored checkpoint: a span per case (scores as assessments), totals on the root."""
        attrs = lineage_tags({**self.lineage, "model_sha": model_sha}) | {T.STEP: str(step)}
        spans = case_spans(cases, attrs, self.prompts, self.references)
        summary = {k: v for k, v in (metrics or {}).items() if v == v}
        inputs = {"step": step, "cases": len(spans), "model_sha": model_sha}
        send = self.outbox.send if self.outbox is not None else self.tracker.log_trace
        send(f"checkpoint-{step}", spans, attrs, inputs=inputs, outputs=summary)

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Forward (asynchronously, when the tracker queues)."""
        self.tracker.log_metrics(metrics, step=step)

    def on_checkpoint(
        self, score: CheckpointScore, assessment: Assessment, history: Sequence[CheckpointScore]
    ) -> str | None:
        """Log scores and drops at the step, keep per-case scores beside the checkpoint, refresh the plot."""
        self.tracker.log_metrics({**score.metrics, **band_metrics(assessment)}, step=score.step)
        tags = {T.DRIFT_WORST: assessment.worst, T.BEST_STEP: str(assessment.best_step)}
        if assessment.recommendation:
            tags[T.DRIFT_RECOMMENDATION] = assessment.recommendation
        if assessment.stop:
            tags[T.TRAINING_STOPPED] = "drift" if not assessment.plateau else "plateau"
            tags[T.STOP_REASON] = assessment.reason
        self.tracker.set_tags(tags)
        folder = Path(score.path)
        if folder.is_dir() and self.cases.get("last") is not None:
            body = CheckpointCases(cases=tuple(self.cases["last"]))
            (folder / CASES_FILE).write_text(body.model_dump_json(), encoding="utf-8")
            self.trace_cases(score.step, self.cases["last"], weights_sha(folder), score.metrics)
        tqdm.write(progress_line(score, assessment), file=sys.stderr)  # above the progress bar
        png = plot_checkpoints(
            self.base, history, self.plot_path, fail_points=self.fail_points, best_step=assessment.best_step
        )
        self.tracker.log_artifact(png, "plots")
        self.tracker.flush()
        return None


class OptunaSink:
    """Report held-out scores to an Optuna trial; ask to stop when the pruner says so."""

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial = trial
        self.metric = metric
        self.pruned_at: int | None = None

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Optuna only sees checkpoint scores."""

    def on_checkpoint(
        self, score: CheckpointScore, assessment: Assessment, history: Sequence[CheckpointScore]
    ) -> str | None:
        """Report the intermediate value; a prune stops training."""
        value = score.metrics.get(self.metric, float("nan"))
        self.trial.report(0.0 if value != value else value, score.step)
        if self.trial.should_prune():
            self.pruned_at = score.step
            return f"pruned by optuna at step {score.step}"
        return None


def progress_line(score: CheckpointScore, assessment: Assessment) -> str:
    """One line per scored checkpoint: the held-out scores and the worst drift, for the terminal."""
    heldout = ", ".join(
        f"{k} {v:.3f}" if v == v else f"{k} unscored"
        for k, v in sorted(score.metrics.items())
        if k.startswith("heldout/")
    )
    scored = [b for b in assessment.bands if b.drop_points == b.drop_points]
    worst = max(scored, key=lambda b: b.drop_points, default=None)
    drift = (
        f"drift worst {format_points(-worst.drop_points)} {worst.family} ({worst.band})"
        if worst
        else "no drift"
    )
    return f"ftlineage: checkpoint {score.step}: {heldout or 'no held-out score'}; {drift}"


def _assessments(scores: dict[str, float], reference: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": k, "value": v, "kind": "feedback", "source": f"ftlineage.scorer:{k}"}
        for k, v in scores.items()
    ]
    if reference is not None:
        found.append({"name": "reference", "value": reference, "kind": "expectation", "source": "suite"})
    return found


def case_spans(
    cases: Sequence[Any],
    attributes: dict[str, str],
    prompts: dict[str, str],
    references: dict[str, str] | None = None,
) -> list[Span]:
    """One span per case (generation and scoring nested), each with the lineage attributes.

    Each case span carries its scores (feedback) and the suite's reference (expectation) as
    assessments, and the reference among its inputs, so a reviewer sees all three together.
    """
    references = references or {}
    spans = []
    for case in cases:
        attrs = {**attributes, T.CASE_ID: case.id, "part": case.part, "family": case.family}
        scores = {k: v for k, v in case.scores.items() if v == v}
        reference = references.get(case.id)
        prompt = prompts.get(case.id, "")
        spans.append(
            Span(
                name=case.id,
                type="CHAIN",
                inputs={"prompt": prompt, "reference": reference or ""},
                outputs={"output": case.output, **scores},
                attributes=attrs,
                assessments=tuple(_assessments(scores, reference)),
                children=(
                    Span("generate", "LLM", {"prompt": prompt}, {"output": case.output}, attrs),
                    Span("score", "EVALUATOR", {"output": case.output}, scores, attrs),
                ),
            )
        )
    return spans
