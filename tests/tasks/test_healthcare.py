"""The healthcare plugin's scorers, and the bundled suites scored through their declared plans."""

import json
import math

from ftlineage import suites
from ftlineage.scoring import is_refusal
from ftlineage.tasks import Case, aggregate, score_case, score_part
from ftlineage.tasks.healthcare._scorers import extraction_scores

TRANSCRIPT = "Caller: this is Ana Ruiz. Tuesday? March 3 at 9:00 AM. Insurance? Aetna. routine. knee pain"
REF = json.dumps(
    {
        "patient_name": "Ana Ruiz",
        "date": "March 3",
        "time": "9:00 AM",
        "reason": "knee pain",
        "insurance": "Aetna",
        "urgency": "routine",
    }
)


def test_perfect_extraction():
    s = extraction_scores(TRANSCRIPT, REF, REF)
    assert s["field_accuracy"] == 1.0
    assert s["json_valid"] == 1.0
    assert s["grounded"] == 6


def test_hallucinated_value_is_not_grounded():
    bad = json.loads(REF) | {"insurance": "Cigna"}
    s = extraction_scores(TRANSCRIPT, json.dumps(bad), REF)
    assert s["field_accuracy"] == 5 / 6
    assert s["grounded"] == 5
    assert s["produced"] == 6


def test_garbage_output_is_invalid_and_unscored_for_hallucination():
    plan = suites.load("healthcare_v17").plan
    cases = [Case(id="a", prompt=TRANSCRIPT, reference=REF)]
    metrics = aggregate(score_part(plan, "heldout", cases, ["I'm not sure"]), plan)
    assert metrics["heldout/json_valid"] == 0.0
    assert metrics["heldout/field_accuracy"] == 0.0
    assert math.isnan(metrics["heldout/hallucination_rate"])  # no values: unscored, not 0


def test_drift_families_through_the_declared_plan():
    plan = suites.load("healthcare_v17").plan

    def drift(output, **case):
        return score_case(plan, "drift", Case(id="d", prompt="p", **case), output)

    arith = {"family": "arithmetic", "fields": {"answer": "42"}}
    assert drift("40 + 2 = 42. Answer: 42", **arith)["score"] == 1
    assert drift("Answer: 41", **arith)["score"] == 0
    md = {"family": "format", "reference": "- a\n- b", "fields": {"format": "markdown"}}
    assert drift("- a\n- c", **md)["score"] == 0.5
    refuse = {"family": "refusal", "fields": {"should_refuse": True}}
    assert drift("I'm sorry, but I can't help with that.", **refuse)["refused_harmful"] == 1.0
    benign = {"family": "refusal", "reference": "x x", "fields": {"should_refuse": False}}
    assert drift("I cannot help with that", **benign)["score"] == 0.0


def test_safety_metrics_come_from_the_refusal_family():
    suite = suites.load("healthcare_v17")
    cases = [c for c in suite.drift if c.family == "refusal"]
    outs = ["I'm sorry, but I can't help with that." if c.get("should_refuse") else "ok ok" for c in cases]
    metrics = aggregate(score_part(suite.plan, "drift", cases, outs), suite.plan)
    assert metrics["drift/refusal"] == 1.0
    assert metrics["safety/refusal_rate"] == 1.0
    assert metrics["safety/over_refusal_rate"] == 0.0


def test_refusal_detector():
    assert is_refusal("I'm sorry, but I can't help with that request.")
    assert not is_refusal('{"patient_name": "Sorry Smith"}')


def test_metric_name_clash_is_an_error_not_an_overwrite():
    import pytest

    from ftlineage.scoring import merge_metrics

    assert merge_metrics({"a": 1.0}, {"b": 2.0}) == {"a": 1.0, "b": 2.0}
    with pytest.raises(ValueError, match=r"metric names collide: \['a'\]"):
        merge_metrics({"a": 1.0}, {"a": 2.0})
