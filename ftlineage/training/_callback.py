"""``EvalGateCallback``: score checkpoints, judge them with pure functions, dispatch to sinks.

Works in any ``transformers.Trainer`` (TRL's ``SFTTrainer`` included), with PEFT adapters or
full fine-tunes. It contains no tracker code: MLflow, W&B, plots and Optuna are sinks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from transformers import TrainerCallback

from ftlineage.readers import parse_versioned
from ftlineage.training._policy import Assessment, CheckpointScore, GatePolicy, assess, best_checkpoint

Evaluate = Callable[[Any], dict[str, float]]
HISTORY_FILE = "ftlineage_checkpoint.json"
TRAIN_LOGS = ("loss", "learning_rate", "grad_norm", "epoch")  # what HF's own MLflowCallback would log


class CheckpointSink(Protocol):
    """Where the callback's results go.

    Contract:
        * ``log_metrics`` may be asynchronous; ``on_checkpoint`` must return only once
          everything up to that checkpoint is durable (a crash after it loses nothing).
        * ``on_checkpoint`` may return a reason to stop training (e.g. an Optuna prune),
          or ``None``.
    """

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Record values at a step (training loss, learning rate, checkpoint scores)."""

    def on_checkpoint(
        self, score: CheckpointScore, assessment: Assessment, history: Sequence[CheckpointScore]
    ) -> str | None:
        """React to a scored checkpoint; return a stop reason or ``None``."""


def load_history(output_dir: str | Path, up_to: int | None = None) -> list[CheckpointScore]:
    """Scored checkpoints found under ``output_dir`` (those a resumed run already has)."""
    found = []
    for path in Path(output_dir).glob(f"checkpoint-*/{HISTORY_FILE}"):
        score = parse_versioned(CheckpointScore, path.read_text(encoding="utf-8"), str(path))
        if up_to is None or score.step <= up_to:
            found.append(score)
    return sorted(found, key=lambda c: c.step)


class EvalGateCallback(TrainerCallback):
    """Evaluate on every save (and every ``eval_every`` steps), assess, dispatch.

    Args:
        evaluate: function from the live model to metric values (batched generation + pure
            scorers).
        base: the base model's metrics on the same suite (drift is measured against it).
        sinks: where metrics, checkpoints and verdicts go.
        policy: drift bands, plateau patience, the selection metric.
        eval_every: also save and evaluate every N steps (``None``: on the Trainer's saves).
        history: checkpoints scored before a resume (see :func:`load_history`).
    """

    def __init__(
        self,
        evaluate: Evaluate,
        base: dict[str, float],
        sinks: Sequence[CheckpointSink] = (),
        policy: GatePolicy | None = None,
        eval_every: int | None = None,
        history: Sequence[CheckpointScore] = (),
    ) -> None:
        self.evaluate = evaluate
        self.base = dict(base)
        self.sinks = list(sinks)
        self.policy = policy or GatePolicy()
        self.eval_every = eval_every
        self.checkpoints: list[CheckpointScore] = list(history)
        self.assessments: list[Assessment] = []
        self.stop_reason: str | None = None
        self.eval_seconds = 0.0
        self.log_seconds = 0.0
        self._loss: float | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> Any:
        """On a resume, score the resumed checkpoint if a crash came before its scores were kept."""
        step = state.global_step
        if step > 0 and step not in {c.step for c in self.checkpoints}:
            self._score(model, step, f"{args.output_dir}/checkpoint-{step}", control)
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> Any:
        """Ask the Trainer to save (and so evaluate) every ``eval_every`` steps."""
        if self.eval_every and state.global_step % self.eval_every == 0:
            control.should_save = True
        return control

    def on_save(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        """Score the checkpoint just written."""
        self._score(model, state.global_step, f"{args.output_dir}/checkpoint-{state.global_step}", control)
        return control

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any
    ) -> Any:
        """Forward the trainer's loss and learning rate."""
        picked = {f"train/{k}": float(v) for k, v in (logs or {}).items() if k in TRAIN_LOGS}
        if "train/loss" in picked:
            self._loss = picked["train/loss"]
        if picked:
            self._dispatch_metrics(picked, state.global_step)
        return control

    def _dispatch_metrics(self, metrics: dict[str, float], step: int) -> None:
        start = time.perf_counter()
        for sink in self.sinks:
            sink.log_metrics(metrics, step=step)
        self.log_seconds += time.perf_counter() - start

    def _score(self, model: Any, step: int, path: str, control: Any) -> None:
        start = time.perf_counter()
        was_training = getattr(model, "training", False)
        metrics = self.evaluate(model)
        if was_training:
            model.train()
        self.eval_seconds += time.perf_counter() - start
        score = CheckpointScore(step=step, path=path, metrics=metrics, loss=self._loss)
        self.checkpoints = [c for c in self.checkpoints if c.step != step] + [score]
        verdict = assess(self.base, self.checkpoints, self.policy)
        self.assessments.append(verdict)
        reasons = [r for sink in self.sinks if (r := sink.on_checkpoint(score, verdict, self.checkpoints))]
        if Path(path).is_dir():  # after the sinks: a crash before this re-scores on resume
            (Path(path) / HISTORY_FILE).write_text(score.model_dump_json(), encoding="utf-8")
        if verdict.stop or reasons:
            self.stop_reason = verdict.reason if verdict.stop else reasons[0]
            control.should_training_stop = True

    def best(self) -> CheckpointScore:
        """The checkpoint with the highest ``select`` metric (earliest on ties)."""
        if not self.checkpoints:
            raise RuntimeError("no checkpoint was scored; is save_steps larger than max_steps?")
        return best_checkpoint(self.checkpoints, self.policy.select)
