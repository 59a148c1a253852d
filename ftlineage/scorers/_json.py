"""Structured-output scorers: JSON validity, JSON Schema, per-field accuracy, grounding, tool calls."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ftlineage.scoring import parse_json_object
from ftlineage.tasks import BaseScorer, Case, nanmean, ungrounded_check

NAN = math.nan


def _reference_object(case: Case) -> dict[str, Any] | None:
    ref = case.reference
    if isinstance(ref, str):
        ref = parse_json_object(ref)
    return ref if isinstance(ref, dict) else None


def _norm(value: Any, lenient: bool) -> Any:
    if lenient and isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value


class JsonValid(BaseScorer):
    """``json_valid``: the output holds a JSON object with every key in ``required`` (default none)."""

    keys: ClassVar[tuple[str, ...]] = ("json_valid",)
    reference_free: ClassVar[bool] = True
    required: list[str] = []

    def score(self, case: Case, output: str) -> dict[str, float]:
        obj = parse_json_object(output)
        return {"json_valid": float(obj is not None and all(k in obj for k in self.required))}


class JsonSchema(BaseScorer):
    """``json_schema``: the output's JSON object validates against ``schema`` (JSON Schema 2020-12).

    Options: ``schema`` (an inline schema) or ``schema_field`` (read it per case). Uses the
    ``jsonschema`` library; a bad schema is refused when the suite is loaded.
    """

    keys: ClassVar[tuple[str, ...]] = ("json_schema",)
    reference_free: ClassVar[bool] = True
    schema_: dict[str, Any] | None = None
    schema_field: str | None = None

    def __init__(self, **data: Any) -> None:
        if "schema" in data:
            data["schema_"] = data.pop("schema")
        super().__init__(**data)
        if (self.schema_ is None) == (self.schema_field is None):
            raise ValueError("give exactly one of 'schema' (inline) or 'schema_field'")
        if self.schema_ is not None:
            from jsonschema import Draft202012Validator
            from jsonschema.exceptions import SchemaError

            try:
                Draft202012Validator.check_schema(self.schema_)
            except SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from None

    def score(self, case: Case, output: str) -> dict[str, float]:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        schema = self.schema_ if self.schema_ is not None else case.get(str(self.schema_field))
        if not isinstance(schema, dict):
            return {"json_schema": NAN}
        obj = parse_json_object(output)
        if obj is None:
            return {"json_schema": 0.0}
        try:
            return {"json_schema": float(Draft202012Validator(schema).is_valid(obj))}
        except SchemaError:
            return {"json_schema": NAN}


class JsonFields(BaseScorer):
    """``json_fields``: per-field accuracy of the output's JSON object against the reference object.

    Options: ``fields`` (default: the reference's keys), ``lenient`` (compare strings case- and
    whitespace-insensitively; false). Scores ``accuracy`` (share of fields right), ``exact``
    (all right) and ``field.<name>`` per field (aggregated as per-field accuracy).
    """

    keys: ClassVar[tuple[str, ...]] = ("accuracy", "exact")
    fields: list[str] | None = None
    lenient: bool = False

    def score(self, case: Case, output: str) -> dict[str, float]:
        ref = _reference_object(case)
        names = self.fields if self.fields is not None else list(ref or ())
        if ref is None or not names:
            return {"accuracy": NAN, "exact": NAN}
        pred = parse_json_object(output) or {}
        hits = {k: float(_norm(pred.get(k), self.lenient) == _norm(ref.get(k), self.lenient)) for k in names}
        out = {"accuracy": sum(hits.values()) / len(hits), "exact": float(all(hits.values()))}
        return {**out, **{f"field.{k}": v for k, v in hits.items()}}

    def aggregate(self, scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Means of ``accuracy``, ``exact`` and every ``field.<name>`` seen."""
        names = sorted({k for s in scores for k in s if k.startswith("field.")})
        return {k: nanmean([s.get(k, NAN) for s in scores]) for k in [*self.keys, *names]}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [] if value in (None, "") or isinstance(value, bool) else [value]


class Grounded(BaseScorer):
    """``grounded``: the values the output states are found in the input (prompt/messages + context).

    The output's JSON object is read (only ``fields`` when given); every non-empty leaf value is
    *produced*, and *grounded* when it occurs in the input, case-insensitively. Aggregates:
    ``hallucination_rate`` = ungrounded / produced over the part (lower is better) and
    ``grounded_share`` (per-case mean). Output that is not a JSON object is unscored.
    """

    keys: ClassVar[tuple[str, ...]] = ("grounded_share", "produced", "grounded")
    metric_keys: ClassVar[tuple[str, ...]] = ("hallucination_rate", "grounded_share")
    lower_is_better: ClassVar[tuple[str, ...]] = ("hallucination_rate",)
    reference_free: ClassVar[bool] = True
    fields: list[str] | None = None

    def score(self, case: Case, output: str) -> dict[str, float]:
        obj = parse_json_object(output)
        if obj is None:
            return dict.fromkeys(self.keys, NAN)
        if self.fields is not None:
            obj = {k: obj.get(k) for k in self.fields}
        values = _leaves(obj)
        source = f"{case.input_text}\n{case.context or ''}".casefold()
        grounded = sum(1 for v in values if str(v).casefold() in source)
        share = grounded / len(values) if values else NAN
        return {"grounded_share": share, "produced": float(len(values)), "grounded": float(grounded)}

    def aggregate(self, scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """The part's hallucination rate over all produced values, and the mean grounded share."""
        produced = sum(s["produced"] for s in scores if not math.isnan(s.get("produced", NAN)))
        grounded = sum(s["grounded"] for s in scores if not math.isnan(s.get("grounded", NAN)))
        return {
            "hallucination_rate": (produced - grounded) / produced if produced else NAN,
            "grounded_share": nanmean([s.get("grounded_share", NAN) for s in scores]),
        }

    def failed_checks(self, scores: Mapping[str, float], pass_mark: float = 1.0) -> tuple[str, ...]:
        """``hallucination`` when a stated value is not in the input."""
        return ungrounded_check(scores)


def parse_tool_call(value: Any) -> tuple[str, dict[str, Any]] | None:
    """``(name, arguments)`` of an OpenAI-style function call, from an object or text holding one.

    Accepts ``{"name", "arguments"}``, ``{"function": {...}}``, ``{"tool_calls": [{...}]}`` and
    ``{"type": "function", "function": {...}}``; ``arguments`` may be an object or a JSON string.
    """
    obj = parse_json_object(value) if isinstance(value, str) else value
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("tool_calls"), list) and obj["tool_calls"]:
        obj = obj["tool_calls"][0]
    if isinstance(obj, dict) and isinstance(obj.get("function"), dict):
        obj = obj["function"]
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return None
    return (obj["name"], args) if isinstance(args, dict) else None


class ToolCall(BaseScorer):
    """``tool_call``: the output calls the reference's function with the reference's arguments.

    Scores ``score`` (mean of name and arguments), ``name`` (right function), ``arguments``
    (share of the union of reference and produced argument keys with equal values: a missing or
    an invented argument both count against) and ``exact``. ``lenient`` (true) compares string
    values case- and whitespace-insensitively. Unparsable output scores 0; no reference: NaN.
    """

    keys: ClassVar[tuple[str, ...]] = ("score", "name", "arguments", "exact")
    lenient: bool = True

    def score(self, case: Case, output: str) -> dict[str, float]:
        ref = parse_tool_call(case.reference)
        if ref is None:
            return dict.fromkeys(self.keys, NAN)
        got = parse_tool_call(output)
        if got is None:
            return dict.fromkeys(self.keys, 0.0)
        name = float(got[0] == ref[0])
        union = set(ref[1]) | set(got[1])
        same = sum(_norm(ref[1].get(k), self.lenient) == _norm(got[1].get(k), self.lenient) for k in union)
        args = same / len(union) if union else 1.0
        return {
            "score": (name + args) / 2,
            "name": name,
            "arguments": args,
            "exact": float(name == 1 and args == 1),
        }
