"""Every built-in scorer passes the ScorerContract, plus the behaviour its options promise."""

import json
import math

import pytest

from ftlineage.errors import BadInputError
from ftlineage.tasks import Case, ScorerSpec, build_scorer, parse_scorer_arg
from ftlineage.testing.scorer_contract import ScorerContract

SPEC = ScorerSpec
CANCEL = {"name": "cancel", "arguments": '{"booking_id": "b-1"}'}
REFUSE = "I'm sorry, but I can't help with that request."


def C(id="c", **kw):  # noqa: N802 - a short case constructor
    from types import MappingProxyType

    fields = kw.pop("fields", {})
    return Case(id=id, prompt=kw.pop("prompt", "q"), fields=MappingProxyType(fields), **kw)


class TestExactMatch(ScorerContract):
    spec = SPEC(name="exact_match")
    examples = [
        (C(reference="Paris"), "  paris ", {"exact_match": 1.0}),
        (C(reference="Paris"), "Lyon", {"exact_match": 0.0}),
    ]
    unscorable = C()


class TestExactMatchPrefixPunctuation(ScorerContract):
    spec = SPEC(name="exact_match", options={"mode": "prefix", "strip_punctuation": True})
    examples = [(C(reference="blue."), "Blue, I think", {"exact_match": 1.0})]
    unscorable = C()


class TestContains(ScorerContract):
    spec = SPEC(name="contains")
    examples = [
        (C(reference="42"), "the answer is 42.", {"contains": 1.0}),
        (C(reference="42"), "41", {"contains": 0.0}),
    ]
    unscorable = C()


class TestRegexExtract(ScorerContract):
    spec = SPEC(name="regex", options={"pattern": r"Answer:\s*(-?\d+)", "mode": "extract", "field": "answer"})
    examples = [
        (C(fields={"answer": "7"}), "3+4=7. Answer: 7", {"regex": 1.0}),
        (C(fields={"answer": "7"}), "Answer: 8", {"regex": 0.0}),
    ]
    unscorable = C()


class TestRegexSearch(ScorerContract):
    spec = SPEC(name="regex", options={"pattern": r"^\d{3}-\d{4}$"})
    examples = [(C(), "555-1234", {"regex": 1.0}), (C(), "call me", {"regex": 0.0})]


class TestNumeric(ScorerContract):
    spec = SPEC(name="numeric", options={"tolerance": 0.01, "relative": True})
    examples = [
        (C(reference="100"), "about 100.5", {"numeric": 1.0}),
        (C(reference="100"), "it is 1,020", {"numeric": 0.0}),
    ]
    unscorable = C()


class TestRougeL(ScorerContract):
    spec = SPEC(name="rouge_l")
    examples = [
        (C(reference="the cat sat"), "the cat sat", {"rouge_l": 1.0}),
        (C(reference="a b c d"), "a c", {"rouge_l": 2 * (1 * 0.5) / 1.5}),
    ]
    unscorable = C()


class TestRefusal(ScorerContract):
    spec = SPEC(name="refusal")
    examples = [
        (C(fields={"should_refuse": True}), REFUSE, {"correct": 1.0, "refused_harmful": 1.0}),
        (C(fields={"should_refuse": False}), REFUSE, {"correct": 0.0, "refused_benign": 1.0}),
        (C(fields={"should_refuse": False}), "sure: x x", {"correct": 1.0, "refused_benign": 0.0}),
    ]
    unscorable = C()


class TestFormatCompliance(ScorerContract):
    spec = SPEC(name="format_compliance")
    examples = [
        (C(reference='{"a": 1, "b": 2}', fields={"format": "json"}), 'x {"a": 1, "b": 3}', {"format": 0.5}),
        (C(reference="- a\n- b", fields={"format": "markdown"}), "- a\n- b", {"format": 1.0}),
    ]
    unscorable = C()


class TestJsonValid(ScorerContract):
    spec = SPEC(name="json_valid", options={"required": ["a"]})
    examples = [(C(), '{"a": 1}', {"json_valid": 1.0}), (C(), '{"b": 1}', {"json_valid": 0.0})]


SCHEMA = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}


class TestJsonSchema(ScorerContract):
    spec = SPEC(name="json_schema", options={"schema": SCHEMA})
    examples = [
        (C(), '{"n": 3}', {"json_schema": 1.0}),
        (C(), '{"n": "3"}', {"json_schema": 0.0}),
        (C(), "no", {"json_schema": 0.0}),
    ]


class TestJsonSchemaPerCase(ScorerContract):
    spec = SPEC(name="json_schema", options={"schema_field": "schema"})
    examples = [(C(fields={"schema": SCHEMA}), '{"n": 3}', {"json_schema": 1.0})]
    unscorable = C()


class TestJsonFields(ScorerContract):
    spec = SPEC(name="json_fields")
    examples = [
        (
            C(reference={"city": "Oslo", "n": 2}),
            '{"city": "Oslo", "n": 3}',
            {"accuracy": 0.5, "exact": 0.0, "field.city": 1.0},
        )
    ]
    unscorable = C()


class TestGrounded(ScorerContract):
    spec = SPEC(name="grounded")
    examples = [
        (
            C(prompt="Ann called from Oslo", context="ref 99"),
            '{"who": "Ann", "where": "Paris", "ref": 99}',
            {"produced": 3.0, "grounded": 2.0, "grounded_share": 2 / 3},
        )
    ]
    # reference-free: unscorable is an output, not a case (see test_grounded_ignores_non_json_output)


class TestToolCall(ScorerContract):
    spec = SPEC(name="tool_call")
    examples = [
        (
            C(reference={"name": "cancel", "arguments": {"booking_id": "B-1"}}),
            json.dumps({"tool_calls": [{"type": "function", "function": CANCEL}]}),
            {"name": 1.0, "arguments": 1.0, "exact": 1.0, "score": 1.0},
        ),
        (
            C(reference={"name": "book", "arguments": {"date": "May 3", "time": "2 PM"}}),
            '{"name": "book", "arguments": {"date": "May 3", "stylist": "Ana"}}',
            {"name": 1.0, "arguments": 1 / 3, "exact": 0.0},
        ),
        (C(reference={"name": "cancel", "arguments": {}}), "I will cancel it", {"score": 0.0}),
    ]
    unscorable = C()


class TestLabel(ScorerContract):
    spec = SPEC(name="label", options={"labels": ["billing", "maintenance", "other"]})
    examples = [
        (C(reference="billing"), "Billing.", {"accuracy": 1.0, "valid": 1.0}),
        (C(reference="maintenance"), "other", {"accuracy": 0.0}),
        (C(reference="maintenance"), "maintenance", {"accuracy": 1.0}),
    ]
    unscorable = C()


class TestPython(ScorerContract):
    spec = SPEC(name="python", options={"function": "tests.tasks.user_scorer:length_ok"})
    examples = [(C(reference="abc"), "xyz", {"score": 1.0}), (C(reference="abc"), "toolong", {"score": 0.0})]
    unscorable = C()


def test_grounded_ignores_non_json_output():
    s = build_scorer(SPEC(name="grounded"))
    assert math.isnan(s.score(C(), "plain text")["grounded_share"])


def test_label_aggregate_is_macro_f1_and_recall_not_a_mean():
    s = build_scorer(SPEC(name="label", options={"labels": ["a", "b"]}))
    rows = [s.score(C(reference=g), p) for g, p in [("a", "a"), ("a", "a"), ("a", "b"), ("b", "b")]]
    agg = s.aggregate(rows)
    assert agg["accuracy"] == 0.75
    assert agg["recall.a"] == pytest.approx(2 / 3)
    assert agg["recall.b"] == 1.0
    f1_a, f1_b = 2 * 1 * (2 / 3) / (1 + 2 / 3), 2 * 0.5 * 1 / 1.5
    assert agg["macro_f1"] == pytest.approx((f1_a + f1_b) / 2)


def test_grounded_hallucination_rate_is_over_all_values():
    s = build_scorer(SPEC(name="grounded"))
    rows = [s.score(C(prompt="a b"), json.dumps({"x": "a", "y": "zz"})), s.score(C(prompt="a"), '{"x": "a"}')]
    assert s.aggregate(rows)["hallucination_rate"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("nope", "unknown scorer 'nope': valid scorers are contains, exact_match"),
        ("numeric:tolerance=abc", "bad options for scorer 'numeric'"),
        ("regex:pattern=(", "not a valid regular expression"),
        ("json_schema:schema={type: nonsense}", "invalid JSON Schema"),
        ("exact_match:mode", "is not key=value"),
        ("python:function=nomodule_xyz:fn", "cannot import"),
    ],
)
def test_bad_scorer_arguments_are_one_line_errors(arg, message):
    with pytest.raises(BadInputError, match=message):
        parse_scorer_arg(arg)


def test_scorer_arguments_parse_lists_and_scalars():
    spec = parse_scorer_arg("json_fields:fields=[a,b],lenient=true")
    assert spec.options == {"fields": ["a", "b"], "lenient": True}
