"""The healthcare post-call task's scorers: extraction against the reference, and its rubric."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from ftlineage.scoring import parse_json_object
from ftlineage.tasks._case import Case
from ftlineage.tasks._scorer import BaseScorer, default_failed_checks, nanmean, ungrounded_check
from ftlineage.tasks.healthcare._data import FIELDS

NAN = math.nan


def extraction_scores(transcript: str, output: str, reference: str | None) -> dict[str, float]:
    """Score one JSON extraction.

    ``json_valid``: an object holding every field. ``field_accuracy``: share of fields
    equal to the reference (NaN without one). ``grounded``/``produced``: non-null values
    found verbatim in the transcript, and all non-null values produced.
    """
    pred = parse_json_object(output)
    valid = pred is not None and all(k in pred for k in FIELDS)
    pred = pred or {}
    values = [pred.get(k) for k in FIELDS if pred.get(k) not in (None, "")]
    lowered = transcript.casefold()
    grounded = sum(1 for v in values if str(v).casefold() in lowered)
    scores = {"json_valid": float(valid), "produced": float(len(values)), "grounded": float(grounded)}
    if reference is not None:
        ref = json.loads(reference)
        hits = sum(1 for k in FIELDS if pred.get(k) == ref.get(k))
        scores["field_accuracy"] = hits / len(FIELDS)
        scores["exact_match"] = float(hits == len(FIELDS))
    return scores


class PostcallExtraction(BaseScorer):
    """``postcall_extraction``: the six post-call fields against the reference object.

    Per case ``field_accuracy``, ``json_valid``, ``exact_match``, ``produced``, ``grounded``;
    aggregates the three means and ``hallucination_rate`` (ungrounded / produced values).
    """

    keys: ClassVar[tuple[str, ...]] = ("field_accuracy", "json_valid", "exact_match", "produced", "grounded")
    metric_keys: ClassVar[tuple[str, ...]] = (
        "field_accuracy",
        "json_valid",
        "exact_match",
        "hallucination_rate",
    )
    lower_is_better: ClassVar[tuple[str, ...]] = ("hallucination_rate",)

    def score(self, case: Case, output: str) -> dict[str, float]:
        s = extraction_scores(case.input_text, output, case.reference_text)
        return {"field_accuracy": NAN, "exact_match": NAN, **s}

    def aggregate(self, scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Means of the per-case scores; the hallucination rate over all produced values."""
        out = {
            k: nanmean([s.get(k, NAN) for s in scores])
            for k in ("field_accuracy", "json_valid", "exact_match")
        }
        produced = sum(s.get("produced", 0.0) for s in scores)
        grounded = sum(s.get("grounded", 0.0) for s in scores)
        out["hallucination_rate"] = (produced - grounded) / produced if produced else NAN
        return out

    def failed_checks(self, scores: Mapping[str, float], pass_mark: float = 1.0) -> tuple[str, ...]:
        """Fields wrong, invalid JSON, not an exact match, and ``hallucination`` (a value not in the call)."""
        return default_failed_checks(self, scores, pass_mark) + ungrounded_check(scores)


def rubric_score(transcript: str, output: str) -> float:
    """Reference-free quality of one extraction in [0, 1].

    The mean of schema validity, grounding (share of produced values found in the transcript)
    and coverage (share of fields given).
    """
    s = extraction_scores(transcript, output, None)
    grounded = s["grounded"] / s["produced"] if s["produced"] else 0.0
    return (s["json_valid"] + grounded + s["produced"] / len(FIELDS)) / 3.0


class PostcallRubric(BaseScorer):
    """``postcall_rubric``: reference-free quality of an extraction (the arena rubric).

    Also ``json_valid`` and ``grounding`` (share of produced values found in the transcript).
    """

    keys: ClassVar[tuple[str, ...]] = ("quality", "json_valid", "grounding")
    reference_free: ClassVar[bool] = True
    canary_keys: ClassVar[tuple[str, ...]] = ("json_valid", "grounding")  # what the canary monitors

    def score(self, case: Case, output: str) -> dict[str, float]:
        s = extraction_scores(case.input_text, output, None)
        grounding = s["grounded"] / s["produced"] if s["produced"] else NAN
        return {
            "quality": rubric_score(case.input_text, output),
            "json_valid": s["json_valid"],
            "grounding": grounding,
        }
