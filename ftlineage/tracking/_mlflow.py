"""MLflow adapter: resumes the run ``mlflow run`` created, logs through ``MlflowClient``."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from ftlineage.lineage import TAG_PREFIX


class MlflowTracker:
    """Log to one MLflow run without touching MLflow's global active-run state."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._unscored: set[str] = set()

    @classmethod
    def start(cls, *, experiment: str, run_name: str, tracking_uri: str | None = None) -> MlflowTracker:
        """Resume ``MLFLOW_RUN_ID`` (set by ``mlflow run``) or create a run in ``experiment``."""
        client = MlflowClient(tracking_uri=tracking_uri)
        run_id = os.environ.get("MLFLOW_RUN_ID")
        if run_id:
            client.get_run(run_id)  # fails loudly if the id is stale
            client.update_run(run_id, status="RUNNING")
            return cls(client, run_id)
        exp = client.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp else client.create_experiment(experiment)
        run = client.create_run(exp_id, run_name=run_name)
        return cls(client, run.info.run_id)

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Log finite values in one batch call; NaN (unscored) values are listed in a tag."""
        now = int(time.time() * 1000)
        batch = []
        for key, value in metrics.items():
            if value is None or math.isnan(value):
                self._unscored.add(key)
                continue
            batch.append(Metric(key=key, value=float(value), timestamp=now, step=step))
        if batch:
            self.client.log_batch(self.run_id, metrics=batch, synchronous=True)
        if self._unscored:
            self.set_tags({TAG_PREFIX + "unscored_metrics": ",".join(sorted(self._unscored))})

    def set_tags(self, tags: dict[str, str]) -> None:
        """Set run tags in one batch call."""
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_params(self, params: dict[str, Any]) -> None:
        """Log params in one batch call (values stringified, 6000-char MLflow limit)."""
        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for lo in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[lo : lo + 100])

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Upload a file or a directory's contents."""
        if path.is_dir():
            self.client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_trace(self, name: str, spans: list[dict[str, Any]], attributes: dict[str, str]) -> str:
        """One trace linked to the run, with one child span per record (attributes = the record)."""
        import mlflow

        # MLflow exports spans through the process-wide tracking URI, not the client's.
        if mlflow.get_tracking_uri() != self.client.tracking_uri:
            mlflow.set_tracking_uri(self.client.tracking_uri)
        exp_id = self.client.get_run(self.run_id).info.experiment_id
        root = self.client.start_trace(
            name,
            inputs={"spans": len(spans)},
            attributes=attributes,
            tags=attributes,
            experiment_id=exp_id,
            run_id=self.run_id,
        )
        for record in spans:
            child = self.client.start_span(
                str(record.get("id", "span")),
                trace_id=root.trace_id,
                parent_id=root.span_id,
                span_type="LLM",
                inputs={k: record[k] for k in ("id", "candidate_first") if k in record},
                attributes={k: v for k, v in record.items() if v is not None},
            )
            self.client.end_span(root.trace_id, child.span_id, outputs={"pick": record.get("pick")})
        self.client.end_trace(root.trace_id)
        mlflow.flush_trace_async_logging()
        return str(root.trace_id)

    def finish(self, status: str) -> None:
        """Terminate the run (so ``mlflow run`` leaves our status in place)."""
        self.client.set_terminated(self.run_id, status)
