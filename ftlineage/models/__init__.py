"""Base models (builtin, HF, GGUF), devices, prompt formats and generation backends."""

from ftlineage.models._generation import (
    BACKENDS,
    BackendError,
    EndpointUnreachable,
    Generator,
    HFGenerator,
    OpenAIGenerator,
    VLLMGenerator,
    make_generator,
    post_json,
)
from ftlineage.models._load import (
    generate,
    load_model,
    load_tokenizer,
    resolve_base,
    resolve_device,
    resolve_dtype,
    stop_ids,
)
from ftlineage.models._preflight import check_base_model, model_config
from ftlineage.models._prompting import (
    FORMAT_FILE,
    PROMPT_TEMPLATE_FILE,
    PromptFormat,
    PromptFormatError,
    Source,
    flatten,
    format_for,
    read_format,
    turns_of,
)

__all__ = [
    "BACKENDS",
    "FORMAT_FILE",
    "PROMPT_TEMPLATE_FILE",
    "BackendError",
    "EndpointUnreachable",
    "Generator",
    "HFGenerator",
    "OpenAIGenerator",
    "PromptFormat",
    "PromptFormatError",
    "Source",
    "VLLMGenerator",
    "check_base_model",
    "model_config",
    "flatten",
    "format_for",
    "generate",
    "load_model",
    "load_tokenizer",
    "make_generator",
    "post_json",
    "read_format",
    "resolve_base",
    "resolve_device",
    "resolve_dtype",
    "stop_ids",
    "turns_of",
]
