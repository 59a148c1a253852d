"""Candidates: what the gate scores — trained here, a model, an endpoint, or a prompt."""

from typing import TYPE_CHECKING

from ftlineage.candidates._prompt import (
    PromptText,
    from_registry_template,
    is_registry_ref,
    parse_prompt,
    read_prompt_file,
    registry_ref,
    to_registry_template,
)
from ftlineage.candidates._spec import KINDS, BaselineSpec, CandidateSpec, EndpointSpec, public_url
from ftlineage.lazy import lazy_getattr

if TYPE_CHECKING:
    from ftlineage.candidates._endpoint import EndpointIdentity, generator, identify

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
    "is_registry_ref",
    "parse_prompt",
    "public_url",
    "read_prompt_file",
    "registry_ref",
    "to_registry_template",
]

_LAZY = {
    "EndpointIdentity": ("_endpoint", "EndpointIdentity"),
    "generator": ("_endpoint", "generator"),
    "identify": ("_endpoint", "identify"),
}

__getattr__ = lazy_getattr(__name__, _LAZY)
