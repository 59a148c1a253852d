"""Offline tiny base model builder (cached by spec hash) and batched generation."""

from ftlineage.models._load import generate, load_model, resolve_base

__all__ = ["generate", "load_model", "resolve_base"]
