"""The promotion rule (checks with reasons) and the model card."""

from ftlineage.gate._paired import paired_checks
from ftlineage.gate.card import ModelCard, build_card, render_markdown
from ftlineage.gate.rule import (
    Check,
    GateDecision,
    check_arena,
    check_digest,
    check_drift,
    check_metric,
    decide,
    decide_scores,
)

__all__ = [
    "Check",
    "GateDecision",
    "check_arena",
    "check_digest",
    "check_drift",
    "check_metric",
    "decide",
    "decide_scores",
    "paired_checks",
    "ModelCard",
    "build_card",
    "render_markdown",
]
