"""W&B adapter: the same metric names and steps as MLflow, offline when there is no key.

Without ``WANDB_API_KEY`` (and no explicit ``WANDB_MODE``) the run is offline and its files
land under ``<work dir>/wandb`` for ``wandb sync`` later. The run id is the MLflow run id,
so a resumed job appends to the same W&B run. W&B history steps must increase: a value
logged for an earlier step after training (e.g. the candidate's scores at the best step,
the gate decision) goes to the run summary instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ftlineage import tags as T
from ftlineage.errors import missing_dependency
from ftlineage.tracking._protocol import Span


class WandbTracker:
    """Log one job to a W&B run."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.run_id = str(run.id)
        self._last_step = -1
        self._seen: set[tuple[str, int]] = set()
        self._unscored: set[str] = set()

    @classmethod
    def start(cls, *, project: str, run_id: str, name: str, work_dir: Path) -> WandbTracker:
        """Start (or resume) the W&B run ``run_id``; offline without credentials."""
        try:
            import wandb
        except ImportError:
            raise missing_dependency("wandb", "report_to: wandb") from None
        mode = os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")
        work_dir.mkdir(parents=True, exist_ok=True)
        run = wandb.init(
            project=project,
            id=run_id,
            name=name,
            dir=str(work_dir),
            mode=mode,  # type: ignore[arg-type]
            resume="allow",
            settings=wandb.Settings(silent=True, console="off"),
        )
        return cls(run)

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """History at ``step`` (increasing steps), else summary; NaN values are listed, not logged."""
        missing = {k for k, v in metrics.items() if v is None or math.isnan(v)}
        if missing - self._unscored:
            self._unscored |= missing
            self.set_tags({T.UNSCORED_METRICS: ",".join(sorted(self._unscored))})
        values = {
            k: float(v)
            for k, v in metrics.items()
            if v is not None and not math.isnan(v) and (k, step) not in self._seen
        }
        if not values:
            return
        self._seen.update((k, step) for k in values)
        if step >= self._last_step:
            self._last_step = step
            self.run.log(values, step=step)
        else:
            self.run.summary.update(values)

    def set_tags(self, tags: dict[str, str]) -> None:
        """Lineage and decision tags go to the run config; the gate decision also to the summary."""
        self.run.config.update(dict(tags), allow_val_change=True)
        if T.DECISION in tags:
            self.run.summary["gate/decision"] = tags[T.DECISION]

    def log_params(self, params: dict[str, Any]) -> None:
        """Parameters go to the run config."""
        self.run.config.update({k: str(v) for k, v in params.items()}, allow_val_change=True)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Only plots are mirrored (as images); files stay in MLflow, the system of record."""
        if path.suffix == ".png":
            import wandb

            self.run.log({f"{artifact_path or 'plots'}/{path.stem}": wandb.Image(str(path))}, commit=False)

    def log_trace(
        self,
        name: str,
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        """Span counts in the summary; Weave is the W&B home of traces."""
        self.run.summary[f"traces/{name}"] = len(spans)
        return name

    def summarize(self, values: dict[str, Any]) -> None:
        """Write final values (e.g. the gate decision) to the run summary."""
        self.run.summary.update(values)

    def flush(self) -> None:
        """Offline and online runs write as they go; nothing to wait for."""

    def finish(self, status: str) -> None:
        """Close the run (exit code 1 when the job failed)."""
        self.run.finish(exit_code=0 if status == "FINISHED" else 1)
