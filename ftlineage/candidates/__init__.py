"""Candidates: what the gate scores — trained here, a model, an endpoint, or a prompt."""

from typing import TYPE_CHECKING

from ftlineage.candidates._spec import KINDS, BaselineSpec, CandidateSpec, EndpointSpec, public_url
from ftlineage.lazy import lazy_getattr

if TYPE_CHECKING:
    from ftlineage.candidates._endpoint import EndpointIdentity, generator, identify
    from ftlineage.candidates._prompt import (
        PromptText,
        from_registry_template,
        parse_prompt,
        to_registry_template,
    )

__all__ = [
    "KINDS",
    "BaselineSpec",
    "CandidateSpec",
    "EndpointIdentity",
    "EndpointSpec",
    "PromptText",
    "from_registry_template",
    "generator",
    "identify",
    "parse_prompt",
    "public_url",
    "to_registry_template",
]

_LAZY = {
    "EndpointIdentity": ("_endpoint", "EndpointIdentity"),
    "generator": ("_endpoint", "generator"),
    "identify": ("_endpoint", "identify"),
    "PromptText": ("_prompt", "PromptText"),
    "from_registry_template": ("_prompt", "from_registry_template"),
    "parse_prompt": ("_prompt", "parse_prompt"),
    "to_registry_template": ("_prompt", "to_registry_template"),
}

__getattr__ = lazy_getattr(__name__, _LAZY)
