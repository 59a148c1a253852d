"""The scorer contract, scorer specs and the ``ftlineage.scorers`` registry.

A scorer turns one case and one model output into named scores; the suite's parts name the
scorers they use (``suite.yaml``), and a :class:`ScorerSpec` (name + options) rebuilds the
same scorer anywhere: in the training callback, the CI gate, ``ftlineage diff`` or a score file.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftlineage import readers as userfile
from ftlineage.errors import BadInputError
from ftlineage.scoring import nanmean
from ftlineage.tasks._case import Case

ENTRY_POINT_GROUP = "ftlineage.scorers"
Direction = Literal["higher", "lower"]


@runtime_checkable
class Scorer(Protocol):
    """Scores one output against one case.

    Contract:
        * ``score(case, output)`` returns a float for every name in ``keys`` (extra keys are
          allowed: per-field or per-label details). A value the scorer cannot compute for this
          case (no reference, unparsable output for a reference-free check that needs one) is
          ``NaN``: counted as *unscored*, never as 0. It never raises on any output string.
        * ``keys[0]`` is the primary score, in [0, 1], higher is better; the arena rubric and
          ``ftlineage diff`` flips read it (then the next keys, when it is NaN).
        * ``aggregate(scores)`` turns the per-case dicts of one suite part into metrics named by
          ``metric_keys`` (plus optional extra keys); means skip NaN. Aggregates that are not
          means (macro-F1, a rate over sums) live here, never in the caller.
        * ``directions`` maps every metric key to ``"higher"`` or ``"lower"`` (better).
        * ``reference_free`` says whether ``keys[0]`` needs no reference (usable on arena pools).
        * Pure and thread-safe: the same case and output give the same scores.
        * Optional: ``failed_checks(scores, pass_mark)`` names the checks one case fails (the
          failure feed clusters on them); without it :func:`default_failed_checks` applies.
    """

    keys: tuple[str, ...]
    metric_keys: tuple[str, ...]
    directions: Mapping[str, Direction]
    reference_free: bool

    def score(self, case: Case, output: str) -> dict[str, float]:
        """Scores of one output."""

    def aggregate(self, scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Metrics of one part from its per-case scores."""


class BaseScorer(BaseModel):
    """Convenience base for scorers: options are validated pydantic fields; aggregate is a mean.

    Subclasses set ``keys`` (and ``metric_keys`` when the aggregate differs) and implement
    ``score``. Unknown options are refused (``extra="forbid"``), so a typo is an error.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: ClassVar[tuple[str, ...]] = ("score",)
    metric_keys: ClassVar[tuple[str, ...]] = ()
    lower_is_better: ClassVar[tuple[str, ...]] = ()
    reference_free: ClassVar[bool] = False

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if not cls.__dict__.get("metric_keys"):
            cls.metric_keys = cls.keys

    @property
    def directions(self) -> dict[str, Direction]:
        """``lower`` for the keys in ``lower_is_better``, ``higher`` for the rest."""
        return {k: "lower" if k in self.lower_is_better else "higher" for k in self.metric_keys}

    def score(self, case: Case, output: str) -> dict[str, float]:  # pragma: no cover - abstract
        """Scores of one output."""
        raise NotImplementedError

    def aggregate(self, scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """The mean of every metric key over the cases (NaN skipped)."""
        return {k: nanmean([s.get(k, math.nan) for s in scores]) for k in self.metric_keys}

    def failed_checks(self, scores: Mapping[str, float], pass_mark: float = 1.0) -> tuple[str, ...]:
        """The checks one case fails (see :func:`default_failed_checks`); subclasses add their own."""
        return default_failed_checks(self, scores, pass_mark)


class _Keyed(Protocol):
    """What :func:`default_failed_checks` reads of a scorer."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Per-case keys, the primary first."""

    @property
    def directions(self) -> Mapping[str, Direction]:
        """Metric key -> better direction."""


def default_failed_checks(
    scorer: _Keyed, scores: Mapping[str, float], pass_mark: float = 1.0
) -> tuple[str, ...]:
    """The checks one case's scores fail: the names of the keys on their wrong side of the pass mark.

    The primary score (``keys[0]``) fails below ``pass_mark``; every other per-case key that is
    also a metric with a direction fails below ``pass_mark`` (``higher``) or above
    ``1 - pass_mark`` (``lower``). Only values in [0, 1] are judged; NaN is unscored, never a
    failure.
    """
    out = []
    directions = scorer.directions
    for i, key in enumerate(scorer.keys):
        value = scores.get(key, math.nan)
        if math.isnan(value) or not 0.0 <= value <= 1.0 or (i and key not in directions):
            continue
        lower = i > 0 and directions[key] == "lower"
        if (value > 1.0 - pass_mark) if lower else (value < pass_mark):
            out.append(key)
    return tuple(out)


def ungrounded_check(scores: Mapping[str, float]) -> tuple[str, ...]:
    """``("hallucination",)`` when a case states values (``produced``) its input lacks (``grounded``)."""
    return ("hallucination",) if scores.get("grounded", math.nan) < scores.get("produced", math.nan) else ()


def failed_checks(scorer: Scorer, scores: Mapping[str, float], pass_mark: float = 1.0) -> tuple[str, ...]:
    """The scorer's own ``failed_checks`` when it has one, else :func:`default_failed_checks`."""
    own = getattr(scorer, "failed_checks", None)
    if callable(own):
        return tuple(str(c) for c in own(scores, pass_mark))
    return default_failed_checks(scorer, scores, pass_mark)


class ScorerSpec(BaseModel):
    """A scorer by name with options, as written in ``suite.yaml``.

    ``as`` renames the metric stem (default: the scorer name); ``flatten`` names multi-score
    metrics ``<part>/<key>`` instead of ``<part>/<stem>.<key>`` (keeps established names).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str
    options: dict[str, Any] = {}
    as_: str | None = Field(None, alias="as")
    flatten: bool = False

    @property
    def stem(self) -> str:
        """The metric stem: ``as`` or the scorer's name."""
        return self.as_ or self.name

    def key(self) -> str:
        """Canonical JSON of the spec (cache key, digests)."""
        return json.dumps(self.model_dump(by_alias=True), sort_keys=True, default=str)


def available_scorers() -> dict[str, Any]:
    """Scorer factories by name, from the ``ftlineage.scorers`` entry-point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def build_scorer(spec: ScorerSpec, where: str = "scorer") -> Scorer:
    """Build the scorer a spec names; an unknown name lists the valid ones, bad options are quoted."""
    return _build(spec.name, json.dumps(spec.options, sort_keys=True, default=str), where)


@functools.lru_cache(maxsize=256)
def _build(name: str, options_json: str, where: str) -> Scorer:
    options = json.loads(options_json)
    found = available_scorers()
    if name not in found:
        raise BadInputError(f"{where}: unknown scorer {name!r}: valid scorers are {', '.join(sorted(found))}")
    factory = found[name].load()
    try:
        scorer = factory(**options)
    except ValidationError as exc:
        errs = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors()[:3])
        raise BadInputError(f"{where}: bad options for scorer {name!r} {options}: {errs}") from None
    except Exception as exc:  # noqa: BLE001 - a plugin's factory may raise anything on bad options
        raise BadInputError(f"{where}: bad options for scorer {name!r} {options}: {exc}") from None
    if not isinstance(scorer, Scorer):
        raise BadInputError(f"{where}: entry point {name!r} in {ENTRY_POINT_GROUP} did not build a Scorer")
    return scorer


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets or braces."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur] if cur or parts else []


def parse_scorer_arg(text: str) -> ScorerSpec:
    """``NAME[:key=value,...]`` (values are YAML scalars or ``[a,b]`` lists) -> :class:`ScorerSpec`.

    A value that is not YAML (or is refused by the strict reader: an alias, a bad date) is kept
    as the text written.
    """
    name, _, rest = text.partition(":")
    options: dict[str, Any] = {}
    for item in _split_top(rest):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise BadInputError(
                f"--scorer {text!r}: option {item!r} is not key=value; e.g. exact_match:mode=prefix"
            )
        try:
            parsed = userfile.parse(value, Path("--scorer"), "option")[0] if value.strip() else ""
        except BadInputError:
            parsed = value
        options[key.strip()] = parsed
    spec = ScorerSpec(name=name.strip(), options=options)
    build_scorer(spec, f"--scorer {text!r}")
    return spec
