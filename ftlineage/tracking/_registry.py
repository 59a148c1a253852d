"""The MLflow Model Registry as a :class:`~ftlineage.tracking.Registry`, and the pyfunc it serves.

Only primitives live here; what may be registered and how an alias moves (the ledger) is
policy, in :mod:`ftlineage.gate.promotion`. ``claim`` is a registered model created under a
reserved name: registered model names are unique in every MLflow store, so of two processes
creating the same one exactly one succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, DataType, Schema

from ftlineage import tags as T
from ftlineage.models import PromptFormat
from ftlineage.tracking._filter import literal
from ftlineage.tracking._mlflow import exporting_to as _global_uri
from ftlineage.tracking._mlflow import read_artifact_text
from ftlineage.tracking._protocol import LoadedModel, ModelVersion
from ftlineage.tracking._pyfunc import PostCallModel


def log_pyfunc(
    client: MlflowClient,
    run_id: str,
    model_dir: Path,
    template: str | PromptFormat,
    max_new_tokens: int,
    extra_files: dict[str, str] | None = None,
    *,
    input_example: str = "Hello.",
    metric_step: int | None = None,
) -> str:
    """Save the pyfunc (with a signature and an input example) as the run's candidate model.

    The files go to the run's ``model/`` artifacts and to a ``LoggedModel`` named
    ``candidate`` (the experiment's Models tab), whose id is tagged on the run
    (``ftlineage.candidate_model_id``); with ``metric_step`` the run's ``candidate/*`` values
    at that step are linked to it. ``extra_files`` (name → text, e.g. the model card) go next to
    the ``MLmodel`` file. Uses no active-run global state. Returns ``models:/<model id>``, the
    URI a registry version points at.
    """
    import tempfile

    import ftlineage
    from ftlineage.tracking._native import find_or_create_model, link_metrics, link_output

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        mlflow.pyfunc.save_model(
            str(out),
            python_model=PostCallModel(template, max_new_tokens),
            artifacts={"model_dir": str(model_dir)},
            signature=ModelSignature(Schema([ColSpec(DataType.string)]), Schema([ColSpec(DataType.string)])),
            input_example=[input_example],
            pip_requirements=[f"ftlineage=={ftlineage.__version__}", "torch==2.13.0", "transformers==5.17.0"],
        )
        for name, text in (extra_files or {}).items():
            (out / name).write_text(text, encoding="utf-8")
        client.log_artifacts(run_id, str(out), "model")
        model_id = find_or_create_model(client, run_id, "candidate", model_type="pyfunc", tags={})
        client.log_model_artifacts(model_id, str(out))
    if metric_step is not None:
        keys = [k for k in client.get_run(run_id).data.metrics if k.startswith("candidate/")]
        link_metrics(client, run_id, model_id, keys, metric_step)
    link_output(client, run_id, model_id, metric_step or 0)
    client.finalize_logged_model(model_id, "READY")
    client.set_tag(run_id, T.CANDIDATE_MODEL_ID, model_id)
    return f"models:/{model_id}"


def load_pyfunc(uri: str) -> LoadedModel:
    """Load a logged or registered ftlineage pyfunc (``models:/...``, ``runs:/...``) for scoring."""
    inner = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    return LoadedModel(inner.model, inner.tokenizer, inner.fmt, getattr(inner, "endpoint", None))


def _logged_model_id(source: str) -> str | None:
    """The logged model id of a ``models:/m-…`` source, else ``None``."""
    if not source.startswith("models:/"):
        return None
    ref = source[len("models:/") :].strip("/")
    return ref if ref.startswith("m-") and "/" not in ref else None


def _version(mv: Any) -> ModelVersion:
    return ModelVersion(mv.name, str(mv.version), str(mv.source), str(mv.run_id or ""), dict(mv.tags or {}))


class MlflowRegistry:
    """The :class:`~ftlineage.tracking.Registry` contract on an MLflow tracking server or store."""

    kind = "model"

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self.uri = str(client.tracking_uri)

    @classmethod
    def connect(cls, tracking_uri: str | None = None) -> MlflowRegistry:
        """The registry of ``tracking_uri`` (default: MLflow's, a new sqlite store initialized once)."""
        from ftlineage.tracking._mlflow import init_store

        return cls(MlflowClient(tracking_uri=init_store(tracking_uri)))

    def ensure_model(self, name: str, description: str = "") -> None:
        """Create the registered model unless it exists (a lost creation race is fine)."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            try:
                self.client.create_registered_model(name, description=description)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise

    def create_version(
        self, name: str, *, source: str, run_id: str, tags: Mapping[str, str], description: str
    ) -> ModelVersion:
        """One create call with every tag (MLflow resolves a ``models:/`` source via the global URI).

        A logged model's source (``models:/m-…``) is sent with its ``model_id``: a tracking server
        requires it, and it is what links the version to the logged model in the UI.
        """
        model_id = _logged_model_id(source)
        with _global_uri(self.uri):
            mv = self.client.create_model_version(
                name=name,
                source=source,
                run_id=run_id or None,
                tags=dict(tags),
                description=description,
                model_id=model_id,
            )
        return _version(mv)

    def content_sha(self, uri: str) -> str:
        """SHA-256 of the files ``uri`` serves (downloaded; :func:`ftlineage.lineage.sha256_content`)."""
        import tempfile

        from ftlineage.lineage import sha256_content

        with tempfile.TemporaryDirectory() as tmp, _global_uri(self.uri):
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
            return sha256_content(Path(local))

    def served_sha(self, name: str, version: str) -> str:
        """SHA-256 of what ``models:/name/version`` serves, as a loader would download it."""
        return self.content_sha(f"models:/{name}/{version}")

    def get_version(self, name: str, version: str) -> ModelVersion | None:
        """One version, or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            return _version(self.client.get_model_version(name, version))
        except MlflowException:
            return None

    def find_versions(
        self, name: str, *, run_id: str | None = None, tag: tuple[str, str] | None = None
    ) -> list[ModelVersion]:
        """Versions of ``name`` (from ``run_id``, carrying ``tag``), oldest first."""
        query = f"name = {literal(name)}"
        if run_id is not None:
            query += f" and run_id = {literal(run_id)}"
        if tag is not None:
            query += f" and tags.`{tag[0]}` = {literal(tag[1])}"
        found = self.client.search_model_versions(query)
        return sorted((_version(v) for v in found if v.name == name), key=lambda v: int(v.version))

    def delete_version(self, name: str, version: str) -> None:
        """Remove one version."""
        self.client.delete_model_version(name, version)

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set one tag on a version."""
        self.client.set_model_version_tag(name, version, key, value)

    def aliases(self, name: str) -> dict[str, str]:
        """``{alias: version}``; empty when there is no such model."""
        from mlflow.exceptions import MlflowException

        try:
            return {a: str(v) for a, v in self.client.get_registered_model(name).aliases.items()}
        except MlflowException:
            return {}

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``@alias`` at ``version``."""
        self.client.set_registered_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``@alias``."""
        self.client.delete_registered_model_alias(name, alias)

    def transition_stage(self, name: str, version: str, stage: str) -> None:
        """Legacy stage transition, archiving the versions in that stage."""
        self.client.transition_model_version_stage(name, version, stage, archive_existing_versions=True)

    def claim(self, key: str, tags: Mapping[str, str], description: str = "") -> bool:
        """Create the registered model ``key``; ``False`` when another process created it first."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(key, tags=dict(tags), description=description)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return False
        return True

    def claimed(self, key: str) -> tuple[dict[str, str], float] | None:
        """A claim's tags and creation time (epoch seconds), or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            model = self.client.get_registered_model(key)
        except MlflowException:
            return None
        return dict(model.tags), (model.creation_timestamp or 0) / 1000

    def claims(self, prefix: str) -> list[str]:
        """Names of the claims under ``prefix``."""
        found = self.client.search_registered_models(f"name LIKE {literal(prefix + '%')}", max_results=1000)
        return [m.name for m in found if m.name.startswith(prefix)]

    def release(self, key: str) -> None:
        """Delete a claim."""
        self.client.delete_registered_model(key)

    def run_tags(self, run_id: str) -> dict[str, str] | None:
        """A run's tags, or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            return dict(self.client.get_run(run_id).data.tags)
        except MlflowException:
            return None

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        """Set one tag on a run."""
        self.client.set_tag(run_id, key, value)

    def read_run_file(self, run_id: str, path: str) -> str | None:
        """A run's text artifact, or ``None``."""
        return read_artifact_text(self.client, run_id, path)

    def load(self, name: str, version: str) -> LoadedModel:
        """Load a registered version's pyfunc for scoring."""
        return load_pyfunc(f"models:/{name}/{version}")

    def log_candidate(
        self,
        run_id: str,
        model_dir: Path,
        *,
        template: str | PromptFormat,
        max_new_tokens: int,
        extra_files: Mapping[str, str] | None = None,
        input_example: str = "",
        metric_step: int | None = None,
    ) -> str:
        """Log the pyfunc as the run's candidate model (see :func:`log_pyfunc`)."""
        return log_pyfunc(
            self.client,
            run_id,
            model_dir,
            template,
            max_new_tokens,
            dict(extra_files or {}),
            input_example=input_example or "Hello.",
            metric_step=metric_step,
        )

    def candidate_source(self, run_id: str) -> str:
        """Where a run's candidate model is: its logged model, or (runs before MLflow 3) ``model/``."""
        run = self.client.get_run(run_id)
        model_id = run.data.tags.get(T.CANDIDATE_MODEL_ID)
        return f"models:/{model_id}" if model_id else f"{run.info.artifact_uri}/model"
