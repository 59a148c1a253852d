"""Per-quantization-tier gating: each tier a model ships in passes its own gate against full precision.

After the full-precision candidate passes, every tier in the recipe's ``tiers:`` is produced by
a maintained library (:class:`Quantizer`), scored on the same held-out and drift suite, compared
per case with full precision (paired bootstrap), judged against it in the arena, measured for
fidelity (next-token KL, top-1 agreement), decided by :func:`decide_tier` and, on a pass,
registered as its own version tagged ``ftlineage.tier``. Pure parts here; the job's side
effects are in :mod:`ftlineage.pipeline._tiers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftlineage.lazy import lazy_getattr
from ftlineage.tiers._spec import (
    SHORT_NAMES,
    TierGateSpec,
    TierSpec,
    check_group,
    parse_short,
    tier_list,
    unique_names,
)

if TYPE_CHECKING:
    from ftlineage.tiers._fidelity import Fidelity, fidelity
    from ftlineage.tiers._quantize import (
        Quantizer,
        available_quantizers,
        copy_companions,
        get_quantizer,
        produce_tier,
        weights_sha,
        weights_size,
    )
    from ftlineage.tiers._report import TierRow, TiersReport, render_table, render_tier_card
    from ftlineage.tiers._rule import check_tier_arena, decide_tier, points_lost, tier_rule
    from ftlineage.tiers._score import score_tiers

__all__ = [
    "Fidelity",
    "Quantizer",
    "SHORT_NAMES",
    "TierGateSpec",
    "TierRow",
    "TierSpec",
    "TiersReport",
    "available_quantizers",
    "check_group",
    "check_tier_arena",
    "copy_companions",
    "decide_tier",
    "fidelity",
    "get_quantizer",
    "parse_short",
    "points_lost",
    "produce_tier",
    "render_table",
    "render_tier_card",
    "score_tiers",
    "tier_list",
    "tier_rule",
    "unique_names",
    "weights_sha",
    "weights_size",
]

_LAZY = {
    "Fidelity": ("_fidelity", "Fidelity"),
    "fidelity": ("_fidelity", "fidelity"),
    "Quantizer": ("_quantize", "Quantizer"),
    "available_quantizers": ("_quantize", "available_quantizers"),
    "copy_companions": ("_quantize", "copy_companions"),
    "get_quantizer": ("_quantize", "get_quantizer"),
    "produce_tier": ("_quantize", "produce_tier"),
    "weights_sha": ("_quantize", "weights_sha"),
    "weights_size": ("_quantize", "weights_size"),
    "TierRow": ("_report", "TierRow"),
    "TiersReport": ("_report", "TiersReport"),
    "render_table": ("_report", "render_table"),
    "render_tier_card": ("_report", "render_tier_card"),
    "score_tiers": ("_score", "score_tiers"),
    "check_tier_arena": ("_rule", "check_tier_arena"),
    "decide_tier": ("_rule", "decide_tier"),
    "points_lost": ("_rule", "points_lost"),
    "tier_rule": ("_rule", "tier_rule"),
}

__getattr__ = lazy_getattr(__name__, _LAZY)
