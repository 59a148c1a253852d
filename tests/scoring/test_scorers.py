import json
import math

from ftlineage.scoring import aggregate, drift_score, extraction_scores, is_refusal, score_heldout

TRANSCRIPT = "Caller: this is Ana Ruiz. Tuesday? March 3 at 9:00 AM. Insurance? Aetna. routine. knee pain"
REF = json.dumps({"patient_name": "Ana Ruiz", "date": "March 3", "time": "9:00 AM",
                  "reason": "knee pain", "insurance": "Aetna", "urgency": "routine"})


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
    cases = [{"id": "a", "prompt": TRANSCRIPT, "reference": REF}]
    metrics = aggregate(score_heldout(cases, ["I'm not sure"]))
    assert metrics["heldout/json_valid"] == 0.0
    assert math.isnan(metrics["heldout/hallucination_rate"])  # no values: unscored, not 0


def test_drift_families():
    assert drift_score({"family": "arithmetic", "answer": "42"}, "40 + 2 = 42. Answer: 42")["score"] == 1
    assert drift_score({"family": "arithmetic", "answer": "42"}, "Answer: 41")["score"] == 0
    md = {"family": "format", "format": "markdown", "reference": "- a\n- b"}
    assert drift_score(md, "- a\n- c")["score"] == 0.5
    refuse = {"family": "refusal", "should_refuse": True, "reference": ""}
    assert drift_score(refuse, "I'm sorry, but I can't help with that.")["refused_harmful"] == 1.0
    benign = {"family": "refusal", "should_refuse": False, "reference": "x x"}
    assert drift_score(benign, "I cannot help with that")["score"] == 0.0


def test_refusal_detector():
    assert is_refusal("I'm sorry, but I can't help with that request.")
    assert not is_refusal('{"patient_name": "Sorry Smith"}')


def test_metric_name_clash_is_an_error_not_an_overwrite():
    import pytest

    from ftlineage.scoring import merge_metrics

    assert merge_metrics({"a": 1.0}, {"b": 2.0}) == {"a": 1.0, "b": 2.0}
    with pytest.raises(ValueError, match=r"metric names collide: \['a'\]"):
        merge_metrics({"a": 1.0}, {"a": 2.0})
