"""Offline tiny base model builder (cached by spec hash) and batched generation."""

from ftlineage.models._load import PROMPT_TEMPLATE_FILE, generate, load_model, resolve_base
from ftlineage.models._preflight import check_base_model

__all__ = ["PROMPT_TEMPLATE_FILE", "check_base_model", "generate", "load_model", "resolve_base"]
