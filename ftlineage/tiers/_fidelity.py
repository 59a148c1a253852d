"""Cheap fidelity figures of a tier against full precision: next-token KL and top-1 agreement.

What llama.cpp's perplexity tool reports for a quantized GGUF (``--kl-divergence``), computed on
the suite's own prompts: each text (a prompt and the full-precision model's answer to it) is
read teacher-forced by both models; at every answer position (the prompt's last position
included) the KL divergence ``KL(P_full || P_tier)`` of the next-token distributions is taken,
and whether both put the same token first. No sampling: the figures are deterministic for a
given pair of models and texts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from ftlineage.scoring import Score


class Fidelity(BaseModel):
    """KL and top-1 agreement of a tier against full precision over ``positions`` tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    texts: int
    positions: int
    mean_kl: Score  # nats per position
    p99_kl: Score
    max_kl: Score
    top1_agreement: Score


def _positions(tokenizer: Any, prompt: str, answer: str, add_special_tokens: bool) -> tuple[list[int], int]:
    """Token ids of prompt+answer and the index of the first position that predicts an answer token."""
    prompt_ids = tokenizer(prompt, add_special_tokens=add_special_tokens)["input_ids"]
    full = tokenizer(prompt + answer, add_special_tokens=add_special_tokens)["input_ids"]
    return list(full), max(len(prompt_ids) - 1, 0)


def fidelity(
    reference: Any,
    tier: Any,
    tokenizer: Any,
    texts: Sequence[tuple[str, str]],
    *,
    add_special_tokens: bool = True,
    max_tokens: int = 512,
) -> Fidelity:
    """KL(reference || tier) and top-1 agreement over the answer positions of ``(prompt, answer)`` texts."""
    import torch

    kls: list[torch.Tensor] = []
    agree = 0
    for prompt, answer in texts:
        ids, first = _positions(tokenizer, prompt, answer, add_special_tokens)
        if not ids:
            continue
        cut = max(0, len(ids) - max_tokens)  # keep the answer's end; drop the prompt's start
        ids, first = ids[cut:], max(0, min(first, len(ids) - 1) - cut)
        batch = torch.tensor([ids], device=reference.device)
        with torch.no_grad():
            ref = reference(batch).logits[0, first:].float().log_softmax(-1)
            got = tier(batch.to(tier.device)).logits[0, first:].float().to(ref.device).log_softmax(-1)
        kls.append((ref.exp() * (ref - got)).sum(-1).clamp_min(0).cpu())
        agree += int((ref.argmax(-1) == got.argmax(-1)).sum())
    if not kls:
        nan = math.nan
        return Fidelity(texts=0, positions=0, mean_kl=nan, p99_kl=nan, max_kl=nan, top1_agreement=nan)
    values = torch.cat(kls)
    return Fidelity(
        texts=len(kls),
        positions=int(values.numel()),
        mean_kl=float(values.mean()),
        p99_kl=float(torch.quantile(values, 0.99)),
        max_kl=float(values.max()),
        top1_agreement=agree / values.numel(),
    )
