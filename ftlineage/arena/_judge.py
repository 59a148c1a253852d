"""Judges: a small contract, and the offline reference-free rubric judge for extraction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from ftlineage.data._healthcare import FIELDS
from ftlineage.scoring import extraction_scores

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


def rubric_score(transcript: str, output: str) -> float:
    """Reference-free quality of one extraction in [0, 1].

    Mean of schema validity (a JSON object with every field), grounding (share of
    produced values found verbatim in the transcript) and coverage (share of fields
    given a value).
    """
    s = extraction_scores(transcript, output, None)
    grounded = s["grounded"] / s["produced"] if s["produced"] else 0.0
    coverage = s["produced"] / len(FIELDS)
    return (s["json_valid"] + grounded + coverage) / 3.0


@dataclass(frozen=True)
class RubricJudge:
    """Programmatic judge: higher rubric score wins; scores within ``margin`` tie."""

    margin: float = 0.05
    name: str = "rubric"
    version: str = "postcall-rubric-v1"
    family: str = "programmatic"

    @property
    def params(self) -> dict[str, Any]:
        """The tie margin."""
        return {"margin": self.margin}

    def judge(self, prompt: str, first: str, second: str) -> Judgement:
        """Compare rubric scores of the two answers."""
        a, b = rubric_score(prompt, first), rubric_score(prompt, second)
        reason = f"rubric first={a:.3f} second={b:.3f}"
        if abs(a - b) < self.margin:
            return Judgement("tie", reason)
        return Judgement("first" if a > b else "second", reason)


ENTRY_POINT_GROUP = "ftlineage.judges"


def available_judges() -> dict[str, Any]:
    """Judge factories by name, from the ``ftlineage.judges`` entry-point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def get_judge(name: str, **options: Any) -> Judge:
    """Build a judge by name with ``options``; an unknown name lists the valid ones."""
    from ftlineage.errors import BadInputError

    found = available_judges()
    if name not in found:
        raise BadInputError(f"unknown judge {name!r}: valid judges are {', '.join(sorted(found))}")
    factory = found[name].load()
    try:
        judge = factory(**options)
    except TypeError as exc:
        raise BadInputError(f"judge {name!r} does not accept options {sorted(options)}: {exc}") from None
    if not isinstance(judge, Judge):
        raise BadInputError(f"entry point {name!r} in {ENTRY_POINT_GROUP} did not build a Judge")
    return judge
