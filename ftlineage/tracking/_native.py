"""MLflow 3 records beyond metrics: logged models, dataset inputs and the run's description.

* Each scored checkpoint becomes a ``LoggedModel`` (``checkpoint-<step>``, type ``checkpoint``)
  whose metrics are the checkpoint's scores; the chosen one is tagged ``ftlineage.chosen``.
  The exported candidate is the ``LoggedModel`` that gets registered (see ``_registry``).
* Metrics are linked to a model by logging the very values the run already holds (same key,
  value, step and timestamp) with the model's id: MLflow keeps one copy in the run's history
  and adds the model's, so no curve gains a point.
* The training rows (after the audit), each suite part and the arena pool are run inputs.
  MLflow's dataset digest column holds 36 characters, so it carries the first 36 hex digits of
  our SHA-256; the whole digest is in the dataset's profile and in the input's
  ``ftlineage.sha256`` tag.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelOutput, Metric
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from ftlineage.tracking._filter import literal

CHOSEN_TAG = T.CHOSEN
DESCRIPTION_TAG = "mlflow.note.content"


def primary_mlflow(tracker: Any) -> Any | None:
    """The MLflow tracker behind ``tracker`` (itself, or a fan-out's primary), else ``None``."""
    from ftlineage.tracking._mlflow import MlflowTracker

    for candidate in (tracker, getattr(tracker, "primary", None)):
        if isinstance(candidate, MlflowTracker):
            return candidate
    return None


def link_metrics(client: MlflowClient, run_id: str, model_id: str, keys: Sequence[str], step: int) -> int:
    """Attach the run's values of ``keys`` at ``step`` to a logged model; returns how many."""
    found = []
    for key in keys:
        found += [m for m in client.get_metric_history(run_id, key) if m.step == step]
    metrics = [Metric(m.key, m.value, m.timestamp, m.step, model_id=model_id) for m in found]
    if metrics:
        client.log_batch(run_id, metrics=metrics)
    return len(metrics)


def find_or_create_model(
    client: MlflowClient, run_id: str, name: str, *, model_type: str, tags: dict[str, str]
) -> str:
    """The id of this run's logged model ``name``, created once (a resumed run finds its own)."""
    exp_id = client.get_run(run_id).info.experiment_id
    found = client.search_logged_models(
        [exp_id], filter_string=f"name = {literal(name)} AND source_run_id = {literal(run_id)}", max_results=1
    )
    if found:
        return str(found[0].model_id)
    model = client.create_logged_model(
        exp_id, name=name, source_run_id=run_id, tags=tags, model_type=model_type
    )
    return str(model.model_id)


def link_output(client: MlflowClient, run_id: str, model_id: str, step: int) -> None:
    """Record the model as an output of the run at ``step`` (the run page's "Logged models").

    Once per model: a resumed or rerun job links again, and MLflow's store refuses a second link
    of the same model to the same run (``UNIQUE constraint failed: inputs``), so a model the run
    already lists is skipped.
    """
    outputs = client.get_run(run_id).outputs
    if any(o.model_id == model_id for o in (outputs.model_outputs if outputs else [])):
        return
    client.log_outputs(run_id, [LoggedModelOutput(model_id, step)])


class LoggedModelSink:
    """A checkpoint sink: one ``LoggedModel`` per scored checkpoint, with its scores as metrics.

    Runs after the tracker sink has flushed the checkpoint's metrics (it links what is stored).
    """

    def __init__(self, tracker: Any) -> None:
        self.client: MlflowClient = tracker.client
        self.run_id: str = tracker.run_id
        self.models: dict[int, str] = {}

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Per-step values stay on the run."""

    def on_checkpoint(self, score: Any, assessment: Any, history: Any) -> str | None:
        """Create (or find, after a resume) the checkpoint's logged model and link its scores."""
        tags = {T.STEP: str(score.step), T.DRIFT_WORST: assessment.worst}
        model_id = find_or_create_model(
            self.client, self.run_id, f"checkpoint-{score.step}", model_type="checkpoint", tags=tags
        )
        link_metrics(self.client, self.run_id, model_id, sorted(score.metrics), score.step)
        link_output(self.client, self.run_id, model_id, score.step)
        self.client.finalize_logged_model(model_id, "READY")
        self.models[score.step] = model_id
        return None

    def mark_chosen(self, step: int) -> None:
        """Tag the checkpoint the job promotes to candidate."""
        model_id = self.models.get(step) or find_or_create_model(
            self.client, self.run_id, f"checkpoint-{step}", model_type="checkpoint", tags={}
        )
        self.client.set_logged_model_tags(model_id, {CHOSEN_TAG: "true"})


def dataset_input(name: str, sha256: str, source: str, context: str, rows: int) -> DatasetInput:
    """A run input for a dataset identified by our full SHA-256 (see the module docstring)."""
    profile = json.dumps({"sha256": sha256, "rows": rows})
    dataset = Dataset(name=name, digest=sha256[:36], source_type="ftlineage", source=source, profile=profile)
    tags = [InputTag("mlflow.data.context", context), InputTag("ftlineage.sha256", sha256)]
    return DatasetInput(dataset=dataset, tags=tags)


def log_inputs(client: MlflowClient, run_id: str, inputs: Sequence[DatasetInput]) -> None:
    """Record the job's datasets as run inputs (shown in the runs table and on the run page).

    Idempotent: a dataset (name and digest) the run already has is skipped, so a resumed or rerun
    job never logs one input twice.
    """
    have = client.get_run(run_id).inputs
    known = {(d.dataset.name, d.dataset.digest) for d in (have.dataset_inputs if have else [])}
    new = [i for i in inputs if (i.dataset.name, i.dataset.digest) not in known]
    if new:
        client.log_inputs(run_id, datasets=new)


def describe(client: MlflowClient, run_id: str, text: str) -> None:
    """Set the run's description (the run page's overview) to ``text`` (Markdown)."""
    client.set_tag(run_id, DESCRIPTION_TAG, text[:20000])
