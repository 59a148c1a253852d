"""Load a base model (builtin, HF id/path, GGUF) on the right device and generate from it in batches."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftlineage.errors import BadInputError, missing_dependency
from ftlineage.logging import get_logger
from ftlineage.recipe import BaseModelSpec

log = get_logger(__name__)

END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>")
"""Tokens that end an assistant turn in common chat templates; generation stops at any it has."""


def resolve_base(spec: BaseModelSpec, cache_dir: Path, *, progress: bool = True) -> str:
    """Path (builtin, built on demand; GGUF, converted once) or HF id/path of the base model."""
    if spec.is_builtin:
        from ftlineage.models._tiny import build_base

        return str(build_base(spec.builtin, cache_dir, progress=progress))
    from ftlineage.models._sources import convert_gguf, gguf_source

    gguf = gguf_source(spec.name, cache_dir)
    return str(convert_gguf(gguf, cache_dir)) if gguf else spec.name


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``mps`` on Apple silicon, else ``cpu``."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInputError("base_model.device: 'cuda' but no CUDA GPU is visible; set device: auto or cpu")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """``auto`` → bf16 on a CUDA GPU with bf16, fp16 on other GPUs, fp32 on CPU (bit-reproducible)."""
    import torch

    named = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if dtype != "auto":
        return named[dtype]
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device == "mps" else torch.float32


def _quantization(kind: str, device: str) -> Any:
    if kind == "none":
        return None
    if device != "cuda":
        raise BadInputError(f"base_model.quantization: {kind!r} (QLoRA) needs a CUDA GPU; set it to none")
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError:
        raise missing_dependency("bitsandbytes", f"base_model.quantization: {kind}") from None
    import torch

    if kind == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def load_tokenizer(name_or_path: str) -> Any:
    """A model's tokenizer alone (enough to render prompts for a served model); pads on the left."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def load_model(
    name_or_path: str, *, device: str = "auto", dtype: str = "auto", quantization: str = "none"
) -> tuple[Any, Any]:
    """Load a causal LM on its device and its tokenizer; the tokenizer pads on the left for generation."""
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(name_or_path)
    where = resolve_device(device)
    quant = _quantization(quantization, where)
    kwargs: dict[str, Any] = {"dtype": resolve_dtype(dtype, where)}
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map={"": 0})
    model: Any = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    if quant is None and where != "cpu":
        model.to(where)
    model.eval()
    log.info("loaded %s on %s (%s)", name_or_path, where, kwargs["dtype"])
    return model, tokenizer


def stop_ids(tokenizer: Any) -> list[int]:
    """EOS and every end-of-turn token the vocabulary has (a chat model ends its turn with one)."""
    special = {t.content: i for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items() if t.special}
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    return ids + [special[t] for t in END_OF_TURN if t in special and special[t] not in ids]


def auto_batch_size(model: Any, prompt_tokens: int, new_tokens: int, memory_gb: float) -> int:
    """Prompts per batch whose KV cache fits ``memory_gb`` (at most 64, at least 1)."""
    cfg = model.config
    cfg = getattr(cfg, "text_config", None) or cfg
    layers = int(getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", None) or 12)
    hidden = int(getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", None) or 768)
    heads = int(getattr(cfg, "num_attention_heads", None) or getattr(cfg, "n_head", None) or 12)
    kv_heads = int(getattr(cfg, "num_key_value_heads", None) or heads)
    per_token = 2 * layers * kv_heads * (hidden // heads) * next(model.parameters()).element_size()
    per_prompt = max(1, per_token * (prompt_tokens + new_tokens))
    return max(1, min(64, int(memory_gb * (1 << 30) // per_prompt)))


def plan_batches(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int | None,
    add_special_tokens: bool,
    memory_gb: float,
) -> tuple[list[str], list[list[int]]]:
    """The prompts as generated (an empty one starts from BOS) and the batches of their indices.

    Batches hold prompts of similar length (sorted), so little padding is generated. A batch is
    the unit of work: the same batch gives the same completions wherever it runs.
    """
    lengths = [len(tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"]) for p in prompts]
    start_text = tokenizer.bos_token or tokenizer.eos_token
    fixed = [p if n else start_text for p, n in zip(prompts, lengths, strict=True)]
    lengths = [max(1, n) for n in lengths]
    order = sorted(range(len(fixed)), key=lambda i: lengths[i])
    size = batch_size or auto_batch_size(model, max(lengths, default=1), max_new_tokens, memory_gb)
    return fixed, [order[lo : lo + size] for lo in range(0, len(order), size)]


def run_batch(
    model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int, add_special_tokens: bool
) -> list[str]:
    """Greedy completions of one left-padded batch (the tokenizer's padding side must be left)."""
    import torch

    enc = tokenizer(
        list(prompts), return_tensors="pt", padding=True, add_special_tokens=add_special_tokens
    ).to(model.device)
    with torch.no_grad():
        gen = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=stop_ids(tokenizer),
        )
    return list(tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True))


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    batch_size: int | None = 32,
    add_special_tokens: bool = True,
    memory_gb: float = 2.0,
) -> tuple[list[str], float]:
    """Greedy, batched, length-sorted generation on the model's device.

    Returns the completions and mean seconds per prompt. ``add_special_tokens`` is false for
    prompts rendered by a chat template (it writes its own BOS); ``batch_size=None`` sizes batches
    from ``memory_gb`` of KV cache.
    """
    was_training, side = model.training, tokenizer.padding_side
    model.eval()
    tokenizer.padding_side = "left"  # decoder-only generation needs left padding
    start = time.perf_counter()
    prompts, batches = plan_batches(model, tokenizer, prompts, max_new_tokens, batch_size, add_special_tokens,
                                    memory_gb)  # fmt: skip
    by_index: dict[int, str] = {}
    for idx in batches:
        texts = run_batch(model, tokenizer, [prompts[i] for i in idx], max_new_tokens, add_special_tokens)
        by_index.update(zip(idx, texts, strict=True))
    outputs = [by_index[i] for i in range(len(prompts))]
    tokenizer.padding_side = side
    if was_training:
        model.train()
    elapsed = time.perf_counter() - start
    return outputs, elapsed / max(1, len(prompts))
