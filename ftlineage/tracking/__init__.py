"""Tracker adapters (MLflow by default). Stage packages never import these backends."""

from typing import Any

from ftlineage.tracking._protocol import Tracker

__all__ = ["Tracker", "init_store", "sqlite_init_lock"]


def sqlite_init_lock(url: str) -> Any:
    """A file lock held while a sqlite store's schema may be created (see ``_mlflow.sqlite_init_lock``)."""
    from ftlineage.tracking._mlflow import sqlite_init_lock as _lock

    return _lock(url)


def init_store(tracking_uri: str | None = None) -> str:
    """Initialize a new sqlite MLflow store once across processes (see ``_mlflow.init_store``)."""
    from ftlineage.tracking._mlflow import init_store as _init

    return _init(tracking_uri)
