"""Replay rows: general-instruction examples mixed into a fine-tune to limit forgetting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ftlineage.audit import normalize
from ftlineage.data import _general

REPLAY_SEED_OFFSET = 70_000


def replay_rows(n: int, *, seed: int, template: str, exclude: Iterable[str]) -> list[dict[str, Any]]:
    """``n`` generated general rows, rendered with ``template``, none equal to an excluded prompt.

    ``exclude`` holds the frozen drift suite's prompts, so replay never trains on an eval case.
    """
    if n <= 0:
        return []
    banned = {normalize(p) for p in exclude}
    out: list[dict[str, Any]] = []
    batch = 0
    while len(out) < n:
        per_family = max(1, n // len(_general.FAMILIES) + 1)
        cases = _general.make_cases(seed + REPLAY_SEED_OFFSET + batch, per_family, prefix=f"r{batch}")
        for c in cases:
            if normalize(c["prompt"]) not in banned and len(out) < n:
                banned.add(normalize(c["prompt"]))
                out.append(
                    {
                        "id": f"replay-{len(out):05d}",
                        "source": "replay",
                        "prompt": template.format(prompt=c["prompt"]),
                        "completion": c["reference"],
                    }
                )
        batch += 1
    return out
