"""Tracker adapters (MLflow by default). Stage packages never import these backends."""

from ftlineage.tracking._protocol import Tracker

__all__ = ["Tracker", "init_store"]


def init_store(tracking_uri: str | None = None) -> str:
    """Initialize a new sqlite MLflow store once across processes (see ``_mlflow.init_store``)."""
    from ftlineage.tracking._mlflow import init_store as _init

    return _init(tracking_uri)
