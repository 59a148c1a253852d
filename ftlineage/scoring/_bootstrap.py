"""Stratified resampling of paired case scores (pure, seeded)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ftlineage.scoring._reports import CaseScore


def stratified_draws(cases: Sequence[CaseScore], samples: int, seed: int) -> np.ndarray:
    """``samples`` rows of case indices, resampled with replacement within each suite part."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {}
    for i, case in enumerate(cases):
        parts.setdefault(case.part, []).append(i)
    columns = [rng.choice(np.array(idx), size=(samples, len(idx))) for idx in parts.values()]
    return np.concatenate(columns, axis=1)
