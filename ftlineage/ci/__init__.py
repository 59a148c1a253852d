"""The CI gate: pinned baselines, seeded suite slices, and the pytest plugin."""

from ftlineage.ci._baseline import (
    DEFAULT_SLICE,
    Baseline,
    case_shas,
    check_append_only,
    load_baseline,
    pin,
    slice_suite,
)
from ftlineage.ci._candidate import load_candidate, score

__all__ = [
    "Baseline",
    "case_shas",
    "check_append_only",
    "DEFAULT_SLICE",
    "load_baseline",
    "load_candidate",
    "pin",
    "score",
    "slice_suite",
]
