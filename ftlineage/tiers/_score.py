"""Scoring tiers alone (``ftlineage score --tiers``): each tier's metrics, size and fidelity, no gate."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftlineage.tiers._fidelity import fidelity
from ftlineage.tiers._quantize import produce_tier, weights_size
from ftlineage.tiers._spec import TierSpec


def score_tiers(
    model: Any,
    tokenizer: Any,
    fmt: Any,
    suite: Any,
    tiers: Sequence[TierSpec],
    *,
    limit: int | None = None,
    device: str = "cpu",
    fidelity_cases: int = 64,
) -> dict[str, dict[str, float]]:
    """``{"full_precision": metrics, "<tier>": metrics + size/fidelity figures}`` on ``suite``.

    The model is saved once to a temporary folder (the quantizers read a saved model), each
    tier is quantized from it, scored with the same prompts, and measured against it.
    """
    from ftlineage.training import case_source, evaluate_model

    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ftlineage-tiers-") as tmp:
        source = Path(tmp) / "full"
        model.save_pretrained(str(source))
        tokenizer.save_pretrained(str(source))
        full, cases = evaluate_model(model, tokenizer, suite, fmt, limit=limit)
        out["full_precision"] = {**full, "size_mb": weights_size(source) / 1e6}
        answers = {c.id: c.output for c in cases if c.part == "heldout"}
        held = [c for c in suite.heldout if c.id in answers][:fidelity_cases]
        prompts = fmt.render_all(tokenizer, [case_source(c) for c in held])
        texts = [(p, answers[c.id]) for p, c in zip(prompts, held, strict=True)]
        for spec in tiers:
            folder = Path(tmp) / spec.name
            tier, _, seconds = produce_tier(spec, source, folder, device=device)
            metrics, _ = evaluate_model(tier, tokenizer, suite, fmt, limit=limit)
            fid = fidelity(model, tier, tokenizer, texts, add_special_tokens=fmt.add_special_tokens)
            out[spec.name] = {
                **metrics,
                "size_mb": weights_size(folder) / 1e6,
                "quantize_s": seconds,
                "mean_kl": fid.mean_kl,
                "top1_agreement": fid.top1_agreement,
            }
            del tier
    return out
