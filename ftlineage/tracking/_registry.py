"""Model Registry adapter: log the pyfunc, create the version with tags in one call, alias it.

A version is created with ``ftlineage.promotion=pending`` and marked ``done`` only once it
is signed and aliased, so a crash in between leaves a version that ``half_promoted`` finds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, DataType, Schema

from ftlineage.gate.evidence import Subject
from ftlineage.tracking._mlflow import exporting_to as _global_uri
from ftlineage.tracking._pyfunc import PostCallModel

PROMOTION_TAG = "ftlineage.promotion"


CANDIDATE_TAG = "ftlineage.candidate_model_id"


def log_pyfunc(
    client: MlflowClient,
    run_id: str,
    model_dir: Path,
    template: str,
    max_new_tokens: int,
    extra_files: dict[str, str] | None = None,
    *,
    input_example: str = "Caller: Hi, I would like to book a visit.",
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
    client.set_tag(run_id, CANDIDATE_TAG, model_id)
    return f"models:/{model_id}"


def versions_of_run(client: MlflowClient, name: str, run_id: str) -> list[Any]:
    """Versions of ``name`` registered from ``run_id`` (oldest first): the registry, not a run tag."""
    found = client.search_model_versions(f"run_id = '{run_id}'")
    return sorted((v for v in found if v.name == name), key=lambda v: int(v.version))


def register(
    client: MlflowClient,
    *,
    name: str,
    model_uri: str,
    run_id: str,
    tags: dict[str, str],
    description: str,
    alias: str,
    signed_tags: Callable[[Subject], dict[str, str]] | None = None,
) -> str:
    """Create a registry version carrying every tag and the card, then set the alias.

    Tags and description go in the create call itself, so no version ever exists
    without its lineage; the version stays ``pending`` until it is signed and aliased.
    Idempotent per run: a version this run already has (done, or left pending by a crash)
    is finished instead of registering a second one. Returns the version number.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Registered by ftlineage on a gate pass.")
    existing = versions_of_run(client, name, run_id)
    if existing:
        version = existing[0]
    else:
        with _global_uri(client.tracking_uri):  # MLflow resolves a models:/ source through the global URI
            version = client.create_model_version(
                name=name,
                source=model_uri,
                run_id=run_id,
                tags={**tags, PROMOTION_TAG: "pending"},
                description=description,
            )
    if existing and version.tags.get(PROMOTION_TAG) == "done":
        return str(version.version)
    subject = Subject(name, str(version.version), str(version.source), str(version.run_id or ""))
    for key, value in (signed_tags(subject) if signed_tags else {}).items():
        client.set_model_version_tag(name, version.version, key, value)  # needs the version number
    if alias not in client.get_model_version(name, version.version).aliases:
        client.set_registered_model_alias(name, alias, version.version)
    client.set_model_version_tag(name, version.version, PROMOTION_TAG, "done")
    return str(version.version)


def half_promoted(client: MlflowClient, name: str) -> tuple[list[str], list[str]]:
    """Versions a crash left ``pending``: (never aliased, aliased but never marked done).

    The first kind never became visible under an alias; the second was signed and aliased and
    only misses its ``done`` mark. Oldest first.
    """
    from mlflow.exceptions import MlflowException

    versions = client.search_model_versions(f"name = '{name}' and tags.`{PROMOTION_TAG}` = 'pending'")
    try:  # search results do not carry aliases; the registered model does
        aliased = {str(v) for v in client.get_registered_model(name).aliases.values()}
    except MlflowException:
        aliased = set()
    ordered = sorted((str(v.version) for v in versions), key=int)
    return [v for v in ordered if v not in aliased], [v for v in ordered if v in aliased]


def clean_half_promoted(client: MlflowClient, name: str) -> tuple[list[str], list[str]]:
    """Delete the never-aliased versions; mark the aliased ones done (an alias still points there)."""
    orphans, aliased = half_promoted(client, name)
    for version in orphans:
        client.delete_model_version(name, version)
    for version in aliased:
        client.set_model_version_tag(name, version, PROMOTION_TAG, "done")
    return orphans, aliased
