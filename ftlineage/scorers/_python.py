"""``python``: a user's own scoring function, named ``module:function``, without writing a package."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

from pydantic import PrivateAttr, model_validator

from ftlineage.tasks import BaseScorer, Case


class PythonScorer(BaseScorer):
    """``python``: calls ``function`` (``"module:function"``, importable from the working directory).

    The function takes ``(case, output)`` and returns a float or a dict of floats; ``keys`` lists
    the dict's keys (default ``["score"]``; the first is primary). An exception or a non-number
    makes the case unscored (NaN), never 0. ``reference_free`` (false) marks a function that
    does not read ``case.reference`` (usable on the arena pool).
    """

    function: str
    score_keys: list[str] = ["score"]
    uses_reference: bool = True
    _fn: Callable[..., Any] = PrivateAttr()

    @model_validator(mode="after")
    def _load(self) -> PythonScorer:
        module, _, name = self.function.partition(":")
        if not module or not name:
            raise ValueError(f"function {self.function!r} must be written 'module:function'")
        import sys
        from pathlib import Path

        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        try:
            fn = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot import {self.function!r}: {exc}") from None
        if not callable(fn):
            raise ValueError(f"{self.function!r} is not callable")
        self._fn = fn
        return self

    @property
    def keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.score_keys)

    @property
    def metric_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.score_keys)

    @property
    def reference_free(self) -> bool:  # type: ignore[override]
        return not self.uses_reference

    def score(self, case: Case, output: str) -> dict[str, float]:
        nan = dict.fromkeys(self.score_keys, math.nan)
        try:
            value = self._fn(case, output)
        except Exception:  # noqa: BLE001 - a user's scorer failing on one case leaves it unscored
            return nan
        if isinstance(value, dict):
            return {k: _float(value.get(k)) for k in self.score_keys}
        return {**nan, self.score_keys[0]: _float(value)}


def _float(value: Any) -> float:
    if isinstance(value, bool) or isinstance(value, int | float):
        return float(value)
    return math.nan
