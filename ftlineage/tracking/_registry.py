"""Model Registry adapter: log the pyfunc, create the version with tags in one call, alias it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from ftlineage.tracking._pyfunc import PostCallModel


def log_pyfunc(
    client: MlflowClient, run_id: str, model_dir: Path, template: str, max_new_tokens: int
) -> str:
    """Save the pyfunc locally, upload it under the run's ``model/`` artifact path.

    Uses no active-run global state. Returns the artifact URI a version can point at.
    """
    import tempfile

    import ftlineage

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        mlflow.pyfunc.save_model(
            str(out),
            python_model=PostCallModel(template, max_new_tokens),
            artifacts={"model_dir": str(model_dir)},
            pip_requirements=[f"ftlineage=={ftlineage.__version__}", "torch==2.13.0",
                              "transformers==5.17.0"],
        )
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
    without its lineage. Returns the new version number.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Registered by ftlineage on a gate pass.")
    version = client.create_model_version(
        name=name, source=model_uri, run_id=run_id, tags=tags, description=description
    )
    for key, value in (signed_tags(str(version.version)) if signed_tags else {}).items():
        client.set_model_version_tag(name, version.version, key, value)  # needs the version number
    client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)
