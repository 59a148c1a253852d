"""Judges: a small contract, and the offline programmatic judge built from a suite's arena scorers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from ftlineage.tasks import Rubric

Pick = Literal["first", "second", "tie", "unscored"]


@dataclass(frozen=True)
class Judgement:
    """A judge's pick between the answer shown first and the one shown second."""

    pick: Pick
    reason: str


@runtime_checkable
class Judge(Protocol):
    """Compares two answers to one input.

    Contract:
        * ``judge`` sees answers only as "first" and "second"; it is never told which model
          wrote which. The caller randomizes the order.
        * A judge that cannot decide (unparsable reply, timeout, error) returns ``"unscored"``,
          never a guess and never an exception; unscored pairs are excluded from the win rate.
        * ``name``, ``version``, ``family`` and ``params`` identify the judge in reports and
          cache keys: any change to how it judges must change one of them.
        * ``family`` must differ from the candidate's model family.
        * ``judge`` may be called from several threads at once.
    """

    @property
    def name(self) -> str:
        """Registered judge name."""

    @property
    def version(self) -> str:
        """Version of the judge's rubric or prompt; part of every cache key."""

    @property
    def family(self) -> str:
        """Model family of the judge."""

    @property
    def params(self) -> dict[str, Any]:
        """Everything else that changes verdicts (model id, temperature, ...); part of the cache key."""

    def judge(self, prompt: str, first: str, second: str) -> Judgement:
        """Pick the better answer to ``prompt``."""


@dataclass(frozen=True)
class RubricJudge:
    """Programmatic judge: the answer with the higher rubric quality wins; within ``margin``, a tie.

    The rubric is the suite's arena scorers (:class:`ftlineage.tasks._rubric.Rubric`). An answer
    no scorer can score counts as quality 0 against one that scores; two such answers are unscored.
    """

    rubric: Rubric
    margin: float = 0.05
    name: str = "rubric"
    family: str = "programmatic"

    @property
    def version(self) -> str:
        """The rubric's version (declared by the suite, or a digest of its arena scorers)."""
        return self.rubric.version

    @property
    def params(self) -> dict[str, Any]:
        """The tie margin and the rubric's scorers."""
        return {"margin": self.margin, **self.rubric.params}

    def judge(self, prompt: str, first: str, second: str) -> Judgement:
        """Compare rubric qualities of the two answers."""
        a, b = self.rubric.quality(prompt, first), self.rubric.quality(prompt, second)
        reason = f"rubric first={a:.3f} second={b:.3f}"
        if math.isnan(a) and math.isnan(b):
            return Judgement("unscored", reason + " (neither answer could be scored)")
        a, b = (0.0 if math.isnan(a) else a), (0.0 if math.isnan(b) else b)
        if abs(a - b) < self.margin:
            return Judgement("tie", reason)
        return Judgement("first" if a > b else "second", reason)


def rubric_judge(margin: float = 0.05, *, suite: Any = None) -> RubricJudge:
    """The ``rubric`` judge of a suite (its arena scorers); ``suite`` is passed by the caller."""
    from ftlineage.errors import BadInputError

    if suite is None:
        raise BadInputError("the 'rubric' judge scores with a suite's arena scorers; pass --suite NAME|DIR")
    return RubricJudge(Rubric.for_suite(suite), margin=margin)


ENTRY_POINT_GROUP = "ftlineage.judges"


def available_judges() -> dict[str, Any]:
    """Judge factories by name, from the ``ftlineage.judges`` entry-point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def get_judge(name: str, *, suite: Any = None, **options: Any) -> Judge:
    """Build a judge by name with ``options``; an unknown name lists the valid ones.

    ``suite`` (a loaded suite) is handed to factories that take it: the rubric judge scores with
    its arena scorers, model judges read its arena ``rubric`` text.
    """
    import inspect

    from ftlineage.errors import BadInputError

    found = available_judges()
    if name not in found:
        raise BadInputError(f"unknown judge {name!r}: valid judges are {', '.join(sorted(found))}")
    factory = found[name].load()
    if "suite" in inspect.signature(factory).parameters:
        options = {**options, "suite": suite}
    try:
        judge = factory(**options)
    except TypeError as exc:
        raise BadInputError(f"judge {name!r} does not accept options {sorted(options)}: {exc}") from None
    if not isinstance(judge, Judge):
        raise BadInputError(f"entry point {name!r} in {ENTRY_POINT_GROUP} did not build a Judge")
    return judge
