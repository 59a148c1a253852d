"""Load a base model (builtin or HF id/path) and generate from it in batches."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftlineage.recipe import BaseModelSpec

PROMPT_TEMPLATE_FILE = "ftlineage_prompt_template.txt"
"""Written beside an exported model: the prompt template it was fine-tuned with."""


def resolve_base(spec: BaseModelSpec, cache_dir: Path, *, progress: bool = True) -> str:
    """Path (builtin, built on demand) or HF id/path of the base model."""
    if spec.is_builtin:
        from ftlineage.models._tiny import build_base

        return str(build_base(spec.builtin, cache_dir, progress=progress))
    return spec.name


def load_model(name_or_path: str) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer; the tokenizer pads on the left for generation."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(name_or_path)
    model.eval()
    return model, tokenizer


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    batch_size: int = 32,
) -> tuple[list[str], float]:
    """Greedy, batched generation. Returns the completions and mean seconds per prompt."""
    import torch

    was_training, side = model.training, tokenizer.padding_side
    model.eval()
    tokenizer.padding_side = "left"  # decoder-only generation needs left padding
    start = time.perf_counter()
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    by_index: dict[int, str] = {}
    with torch.no_grad():
        for lo in range(0, len(order), batch_size):
            idx = order[lo : lo + batch_size]
            enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True)
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            texts = tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            by_index.update(zip(idx, texts, strict=True))
    outputs = [by_index[i] for i in range(len(prompts))]
    tokenizer.padding_side = side
    if was_training:
        model.train()
    elapsed = time.perf_counter() - start
    return outputs, elapsed / max(1, len(prompts))
