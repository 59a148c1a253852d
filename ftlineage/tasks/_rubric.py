"""The arena rubric: an answer's quality from the scorers a suite declares for its arena part.

The arena's programmatic judge and the canary compare two answers to one input with it, so any
task that declares arena scorers (``json_schema`` + ``grounded`` for extraction, ``label`` for
classification, ``exact_match`` against references...) gets a judge without code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ftlineage.errors import BadInputError
from ftlineage.tasks._case import Case
from ftlineage.tasks._plan import primary
from ftlineage.tasks._scorer import Scorer, ScorerSpec, build_scorer


class Rubric:
    """Quality in [0, 1] of an answer to an input: the mean primary score of the arena scorers.

    A scorer that cannot score the answer (NaN) is left out of the mean; when none can, the
    quality is NaN. Cases are looked up by input text, so reference-based scorers see the
    arena case's reference when it has one.
    """

    def __init__(
        self, specs: Sequence[ScorerSpec], cases: Sequence[Case], version: str, text: str | None = None
    ):
        if not specs:
            raise BadInputError(
                "the arena part declares no scorers, so the programmatic 'rubric' judge has nothing to "
                "compare; add `scorers:` to the suite's arena part, or set arena.judge to a model judge"
            )
        self.specs = tuple(specs)
        self.scorers: tuple[Scorer, ...] = tuple(build_scorer(s, "arena rubric") for s in specs)
        self.version = version
        self.text = text
        self._cases = {c.input_text: c for c in cases}

    @classmethod
    def for_suite(cls, suite: Any) -> Rubric:
        """The rubric of a loaded :class:`ftlineage.suites.Suite`."""
        spec = suite.spec("arena")
        return cls(spec.scorers, suite.arena, suite.rubric_version(), spec.rubric)

    @property
    def params(self) -> dict[str, Any]:
        """What changes a verdict: the scorer specs."""
        return {"scorers": [s.key() for s in self.specs]}

    def case(self, prompt: str) -> Case:
        """The arena case with this input, or a bare case holding only the input."""
        return self._cases.get(prompt) or Case(id="-", prompt=prompt)

    def quality(self, prompt: str, output: str) -> float:
        """Mean of the scorers' primary scores (NaN skipped; NaN when none scores)."""
        case = self.case(prompt)
        values = [primary(s, s.score(case, output)) for s in self.scorers]
        kept = [v for v in values if not math.isnan(v)]
        return sum(kept) / len(kept) if kept else math.nan

    def points(self, prompt: str, output: str) -> dict[str, float]:
        """Per-rubric points (0-100) the canary monitors.

        Each scorer's ``canary_keys``; by default its primary score, named by the scorer's stem.
        """
        case, out = self.case(prompt), {}
        for spec, scorer in zip(self.specs, self.scorers, strict=True):
            scores = scorer.score(case, output)
            keys = getattr(scorer, "canary_keys", ())
            if keys:
                out.update({k: 100.0 * scores.get(k, math.nan) for k in keys})
            else:
                out[spec.stem] = 100.0 * primary(scorer, scores)
        return out
