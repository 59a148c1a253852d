"""Checks on the base model that can run before a run is created (cheap: no weights are loaded).

A recipe that names a model folder that does not exist, a hub id that is not cached while the
hub is offline, or LoRA target modules the architecture does not have would otherwise fail only
after the tracking run was created and the audit had run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ftlineage.errors import RecipeError
from ftlineage.recipe import BaseModelSpec, TrainingSpec

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def _offline() -> bool:
    flags = (os.environ.get(v, "").lower() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return any(f in ("1", "true", "yes") for f in flags)


def model_config(spec: BaseModelSpec, where: str) -> Any | None:
    """The base model's config, or ``None`` when only the hub could tell (online hub ids)."""
    from transformers import AutoConfig

    if spec.is_builtin:
        from ftlineage.models._tiny import build_config

        class _Vocab:  # the tiny tokenizer is trained later; only its size shapes the config
            pad_token_id = eos_token_id = 0

            def __len__(self) -> int:
                return spec.builtin.vocab_size

        return build_config(spec.builtin, _Vocab())
    from ftlineage.models._sources import is_gguf_name

    if is_gguf_name(spec.name):
        return _gguf_config(spec, where)
    path = Path(spec.name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise RecipeError(
                f"{where} (base_model.name): {spec.name!r} has no config.json; pass a model folder"
            )
        return AutoConfig.from_pretrained(str(path))
    if not _HUB_ID.fullmatch(spec.name):
        raise RecipeError(f"{where} (base_model.name): no model folder {spec.name!r}; fix the path")
    if not _offline():
        return None
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(spec.name, "config.json"), str):
        raise RecipeError(
            f"{where} (base_model.name): {spec.name!r} is neither a folder nor in the local Hugging Face "
            "cache, and the hub is offline (HF_HUB_OFFLINE); pass a model folder or download it first"
        )
    return AutoConfig.from_pretrained(spec.name)


def _gguf_config(spec: BaseModelSpec, where: str) -> Any | None:
    """A GGUF source must exist; its config is known once converted (then read from the cache)."""
    from transformers import AutoConfig

    from ftlineage.errors import BadInputError
    from ftlineage.lineage import sha256_file
    from ftlineage.models._sources import gguf_source
    from ftlineage.settings import Settings

    cache = Settings.from_env().cache_dir
    try:
        path = gguf_source(spec.name, cache)
    except BadInputError as exc:
        raise RecipeError(f"{where} ({exc})") from None
    assert path is not None  # is_gguf_name said so
    converted = cache / "gguf" / sha256_file(path)
    return AutoConfig.from_pretrained(str(converted)) if (converted / "config.json").is_file() else None


def module_names(config: Any) -> set[str]:
    """Leaf module names (``q_proj``, ``c_attn``, ...) of the architecture, built on the meta device."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    leaves = (name for name, mod in model.named_modules() if name and not list(mod.children()))
    return {name.rsplit(".", 1)[-1] for name in leaves}


def check_base_model(spec: BaseModelSpec, training: TrainingSpec, where: str) -> None:
    """Refuse a base model that cannot be found, or LoRA targets its architecture lacks."""
    config = model_config(spec, where)
    if config is None or training.method != "lora":
        return
    targets = set(training.lora.target_modules) - {"all-linear"}
    have = module_names(config)
    missing = sorted(t for t in targets if t not in have)
    if missing:
        raise RecipeError(
            f"{where} (training.lora.target_modules): {', '.join(map(repr, missing))} is not a module of "
            f"{spec.name} ({config.model_type}); its modules are {', '.join(sorted(have))}"
        )
