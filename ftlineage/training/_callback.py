"""``EvalGateCallback``: score every saved checkpoint; dispatch only, no tracker branches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainerCallback

Evaluate = Callable[[Any], dict[str, float]]
Sink = Callable[[dict[str, float], int], None]


@dataclass(frozen=True)
class CheckpointScore:
    """Scores of one saved checkpoint."""

    step: int
    path: str
    metrics: dict[str, float]


@dataclass
class EvalGateCallback(TrainerCallback):
    """Evaluate the model on every save and hand the metrics to ``sink`` with the step.

    Args:
        evaluate: pure-ish function from the live model to metric values.
        sink: where metrics go (a tracker adapter's ``log_metrics``).
        select: metric that picks the best checkpoint (higher is better).
    """

    evaluate: Evaluate
    sink: Sink
    select: str = "heldout/field_accuracy"
    checkpoints: list[CheckpointScore] = field(default_factory=list)

    def on_save(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        """Score the checkpoint just written."""
        metrics = self.evaluate(model)
        path = f"{args.output_dir}/checkpoint-{state.global_step}"
        self.checkpoints.append(CheckpointScore(state.global_step, path, metrics))
        self.sink(metrics, state.global_step)
        return control

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any
    ) -> Any:
        """Forward the trainer's loss and learning rate."""
        if logs:
            picked = {f"train/{k}": float(v) for k, v in logs.items() if k in ("loss", "learning_rate")}
            if picked:
                self.sink(picked, state.global_step)
        return control

    def best(self) -> CheckpointScore:
        """The checkpoint with the highest ``select`` metric (latest on ties)."""
        if not self.checkpoints:
            raise RuntimeError("no checkpoint was scored; is save_steps larger than max_steps?")
        return max(self.checkpoints, key=lambda c: (c.metrics.get(self.select, float("-inf")), c.step))
