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

__all__ = [
    "DEFAULT_SLICE",
    "Baseline",
    "case_shas",
    "check_append_only",
    "load_baseline",
    "pin",
    "slice_suite",
]
