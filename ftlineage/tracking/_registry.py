"""Model Registry adapter: log the pyfunc, create the version with tags in one call, alias it.

A version is created with ``ftlineage.promotion=pending`` and marked ``done`` only once it
is signed and aliased, so a crash in between leaves a version that ``half_promoted`` finds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from ftlineage.tracking._pyfunc import PostCallModel

PROMOTION_TAG = "ftlineage.promotion"


def log_pyfunc(
    client: MlflowClient,
    run_id: str,
    model_dir: Path,
    template: str,
    max_new_tokens: int,
    extra_files: dict[str, str] | None = None,
) -> str:
    """Save the pyfunc locally, upload it under the run's ``model/`` artifact path.

    ``extra_files`` (name → text, e.g. the model card) go next to the ``MLmodel`` file, so
    they are artifacts of every version registered from it. Uses no active-run global
    state. Returns the artifact URI a version can point at.
    """
    import tempfile

    import ftlineage

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        mlflow.pyfunc.save_model(
            str(out),
            python_model=PostCallModel(template, max_new_tokens),
            artifacts={"model_dir": str(model_dir)},
            pip_requirements=[f"ftlineage=={ftlineage.__version__}", "torch==2.13.0", "transformers==5.17.0"],
        )
        for name, text in (extra_files or {}).items():
            (out / name).write_text(text, encoding="utf-8")
        client.log_artifacts(run_id, str(out), "model")
    return f"{client.get_run(run_id).info.artifact_uri}/model"


def register(
    client: MlflowClient,
    *,
    name: str,
    model_uri: str,
    run_id: str,
    tags: dict[str, str],
    description: str,
    alias: str,
    signed_tags: Callable[[str], dict[str, str]] | None = None,
) -> str:
    """Create a registry version carrying every tag and the card, then set the alias.

    Tags and description go in the create call itself, so no version ever exists
    without its lineage; the version stays ``pending`` until it is signed and aliased.
    Returns the new version number.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Registered by ftlineage on a gate pass.")
    version = client.create_model_version(
        name=name,
        source=model_uri,
        run_id=run_id,
        tags={**tags, PROMOTION_TAG: "pending"},
        description=description,
    )
    for key, value in (signed_tags(str(version.version)) if signed_tags else {}).items():
        client.set_model_version_tag(name, version.version, key, value)  # needs the version number
    client.set_registered_model_alias(name, alias, version.version)
    client.set_model_version_tag(name, version.version, PROMOTION_TAG, "done")
    return str(version.version)


def half_promoted(client: MlflowClient, name: str) -> list[str]:
    """Versions of ``name`` a crash left between creation and aliasing (oldest first)."""
    versions = client.search_model_versions(f"name = '{name}' and tags.`{PROMOTION_TAG}` = 'pending'")
    return sorted((str(v.version) for v in versions), key=int)


def clean_half_promoted(client: MlflowClient, name: str) -> list[str]:
    """Delete the versions ``half_promoted`` reports; returns their numbers."""
    found = half_promoted(client, name)
    for version in found:
        client.delete_model_version(name, version)
    return found
