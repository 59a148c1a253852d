"""Split-stage helpers: upsampling a source by ``training.source_weights``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ftlineage.errors import RecipeError
from ftlineage.pipeline._stages import upsample
from ftlineage.recipe import TrainingSpec

ROWS = [{"id": f"t{i}", "source": "task"} for i in range(3)] + [{"id": "s0", "source": "safety"}]


def test_a_weighted_source_is_repeated_and_the_rest_kept_once() -> None:
    out = upsample(ROWS, {"safety": 3})
    assert [r["id"] for r in out] == ["t0", "t1", "t2", "s0", "s0", "s0"]
    assert upsample(ROWS, {}) is ROWS


def test_a_weight_for_a_source_no_row_has_names_the_sources() -> None:
    with pytest.raises(RecipeError, match=r"'safty'.*'safety', 'task'"):
        upsample(ROWS, {"safty": 2})


def test_weights_are_whole_copies_of_at_least_one() -> None:
    assert TrainingSpec(source_weights={"safety": 4}).source_weights == {"safety": 4}
    for bad in (0, 1.5, -1):
        with pytest.raises(ValidationError):
            TrainingSpec(source_weights={"safety": bad})  # type: ignore[dict-item]
