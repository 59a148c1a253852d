"""The ``Scorer`` contract as a reusable test suite: every scorer's tests subclass it.

    class TestMyScorer(ScorerContract):
        spec = ScorerSpec(name="my_scorer", options={...})
        examples = [(Case(id="a", prompt="...", reference="..."), "output", {"my_scorer": 1.0})]
        unscorable = Case(id="u", prompt="...")     # a case it cannot score (or None)

The tests build the scorer through the ``ftlineage.scorers`` registry and check what the
contract promises: every key on every output (hostile ones included), primary in [0, 1],
NaN (never 0) for an unscorable case, known answers, aggregates named by ``metric_keys``
that skip NaN, determinism, and a refused unknown option.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ftlineage.tasks import Case, Scorer, ScorerSpec, build_scorer

HOSTILE = (
    "",
    "{",
    "null",
    "[]",
    '{"a": {"b": [1, 2, {"c": null}]}}',
    "\u202e\u200b" * 50,
    "x" * 20_000,
    '{"name": 3, "arguments": "{not json"}',
    "Answer: NaN",
    "1e309",
)


class ScorerContract:
    """Subclass and set ``spec``, ``examples`` and ``unscorable``."""

    spec: ClassVar[ScorerSpec]
    examples: ClassVar[list[tuple[Case, str, dict[str, float]]]] = []
    unscorable: ClassVar[Case | None] = None

    def scorer(self) -> Scorer:
        """The scorer, built through the registry like a suite builds it."""
        return build_scorer(self.spec, "contract")

    def test_is_a_scorer_with_declared_keys(self) -> None:
        """It satisfies the protocol; every metric key has a direction."""
        s = self.scorer()
        assert isinstance(s, Scorer)
        assert s.keys
        assert s.metric_keys
        assert set(s.directions) >= set(s.metric_keys)
        assert all(d in ("higher", "lower") for d in s.directions.values())

    def test_every_key_on_every_output_never_raises(self) -> None:
        """Every key, a float, on hostile outputs too; the primary score is NaN or in [0, 1]."""
        s = self.scorer()
        cases = [c for c, _, _ in self.examples] + ([self.unscorable] if self.unscorable else [])
        for case in cases:
            for output in HOSTILE:
                scores = s.score(case, output)
                assert set(s.keys) <= set(scores), (case.id, output[:20])
                assert all(isinstance(v, float) for v in scores.values())
                first = scores[s.keys[0]]
                assert math.isnan(first) or 0.0 <= first <= 1.0

    def test_known_answers(self) -> None:
        """The examples score what they say."""
        assert self.examples, "give at least one known-answer example"
        s = self.scorer()
        for case, output, expected in self.examples:
            got = s.score(case, output)
            for key, value in expected.items():
                assert math.isclose(got[key], value, abs_tol=1e-9), (case.id, key, got[key], value)

    def test_unscorable_case_is_nan_not_zero(self) -> None:
        """A case it cannot score is NaN, never 0."""
        if self.unscorable is None:
            return
        s = self.scorer()
        assert math.isnan(s.score(self.unscorable, self.examples[0][1])[s.keys[0]])

    def test_aggregate_names_metric_keys_and_skips_unscored(self) -> None:
        """Aggregates carry every metric key and ignore unscored cases."""
        s = self.scorer()
        rows = [s.score(c, o) for c, o, _ in self.examples]
        agg = s.aggregate(rows)
        assert set(s.metric_keys) <= set(agg)
        if self.unscorable is not None:
            with_nan = s.aggregate([*rows, s.score(self.unscorable, self.examples[0][1])])
            for key in s.metric_keys:
                a, b = agg[key], with_nan[key]
                assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b), key

    def test_deterministic(self) -> None:
        """The same case and output give the same scores."""
        s = self.scorer()
        for case, output, _ in self.examples:
            a, b = s.score(case, output), s.score(case, output)
            assert {k: (v if v == v else "nan") for k, v in a.items()} == {
                k: (v if v == v else "nan") for k, v in b.items()
            }

    def test_unknown_option_is_refused(self) -> None:
        """A misspelt option is an error naming the scorer."""
        import pytest

        from ftlineage.errors import BadInputError

        bad: dict[str, Any] = {**self.spec.options, "no_such_option_xyz": 1}
        with pytest.raises(BadInputError, match="bad options for scorer"):
            build_scorer(ScorerSpec(name=self.spec.name, options=bad), "contract")
