"""Score report objects written to disk."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _null_is_nan(value: Any) -> Any:
    return math.nan if value is None else value


Score = Annotated[float, BeforeValidator(_null_is_nan)]
"""A float that may be NaN (unscored). JSON has no NaN, so it is written as null and read back as NaN."""


class CaseScore(BaseModel):
    """One case's scores; ``NaN`` marks an unscored value that aggregates skip."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    part: str
    family: str
    scores: dict[str, Score]
    output: str


class SuiteScores(BaseModel):
    """Aggregated metrics of one model on one suite.

    Written to disk: do not reorder or rename fields without bumping ``schema_version``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 2
    suite_sha: str
    model_label: str
    metrics: dict[str, Score]
    cases: tuple[CaseScore, ...]
    plan: dict[str, Any] | None = None  # the suite's ScoringPlan as JSON: how ``cases`` aggregate


def nanmean(values: list[float]) -> float:
    """Mean that skips NaN (unscored) values; NaN when nothing was scored."""
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def merge_metrics(*parts: dict[str, float]) -> dict[str, float]:
    """Merge metric dicts; a name clash is an error, never a silent overwrite."""
    out: dict[str, float] = {}
    for part in parts:
        clash = out.keys() & part.keys()
        if clash:
            raise ValueError(f"metric names collide: {sorted(clash)}")
        out.update(part)
    return out


class CheckpointCases(BaseModel):
    """Per-case scores of one scored checkpoint, kept beside its weights (``ftlineage_cases.json``).

    Version 1 files were a bare JSON list of cases; :meth:`upgrade` reads them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 2
    cases: tuple[CaseScore, ...]

    @staticmethod
    def upgrade(raw: Any) -> Any:
        """A version 1 file (a list) as a version 2 body."""
        return {"schema_version": 1, "cases": raw} if isinstance(raw, list) else raw
