"""Score reports, drift bands, the paired bootstrap and text helpers (scorers: :mod:`ftlineage.tasks`)."""

from ftlineage.scoring._bootstrap import stratified_draws
from ftlineage.scoring._drift import DriftBand, drift_bands, format_points
from ftlineage.scoring._reports import CaseScore, CheckpointCases, Score, SuiteScores, merge_metrics, nanmean
from ftlineage.scoring._text import is_refusal, normalize, parse_json_object

__all__ = [
    "CaseScore",
    "CheckpointCases",
    "DriftBand",
    "Score",
    "SuiteScores",
    "drift_bands",
    "format_points",
    "is_refusal",
    "merge_metrics",
    "nanmean",
    "normalize",
    "parse_json_object",
    "stratified_draws",
]
