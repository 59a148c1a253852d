"""Scorers: JSON extraction fields, format compliance, refusal, numeric answers."""

from ftlineage.scoring._bootstrap import stratified_draws
from ftlineage.scoring._drift import DriftBand, drift_bands, format_points
from ftlineage.scoring._reports import CaseScore, Score, SuiteScores, merge_metrics, nanmean
from ftlineage.scoring._scorers import (
    aggregate,
    drift_score,
    extraction_scores,
    score_drift,
    score_heldout,
)
from ftlineage.scoring._text import is_refusal, normalize, parse_json_object

__all__ = [
    "CaseScore",
    "Score",
    "DriftBand",
    "SuiteScores",
    "aggregate",
    "drift_bands",
    "drift_score",
    "extraction_scores",
    "format_points",
    "is_refusal",
    "merge_metrics",
    "nanmean",
    "normalize",
    "parse_json_object",
    "score_drift",
    "score_heldout",
    "stratified_draws",
]
