"""Tracker adapters (MLflow by default). Stage packages never import these backends."""

from ftlineage.tracking._protocol import Tracker

__all__ = ["Tracker"]
