"""The ``Tracker`` contract as a reusable test suite: every adapter's tests subclass it.

    class TestMyTracker(TrackerContract):
        def make(self, tmp_path): ...          # a fresh tracker writing somewhere local
        def read(self, tracker, tmp_path): ... # what it recorded, after finish()

The tests drive the tracker only through the ``Tracker`` protocol and check what a user
would see in the backend: metric steps, NaN handling, first-value-wins on a repeated step,
tags and params, trace span attributes (for adapters that record traces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftlineage.tracking import Tracker


@dataclass
class Recorded:
    """What a backend holds after a run: ``metrics[name][step] = value``; traces as span attributes."""

    metrics: dict[str, dict[int, float]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    traces: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


SHAS = {"ftlineage.prompt_sha": "p" * 64, "ftlineage.dataset_sha": "d" * 64, "ftlineage.model_sha": "m" * 64}


class TrackerContract:
    """Subclass, set the capability flags, implement ``make`` and ``read``.

    ``supports_metrics``: the backend keeps metrics, tags and params (MLflow, W&B).
    ``supports_traces``: it keeps traces (MLflow, Weave). A test for a missing capability
    is skipped with the reason, never passed silently.
    """

    supports_metrics = True
    supports_traces = True

    def _needs(self, flag: str) -> None:
        if not getattr(self, f"supports_{flag}"):
            import pytest

            pytest.skip(f"this backend does not keep {flag}")

    def make(self, tmp_path: Path) -> Tracker:
        """A fresh tracker writing under ``tmp_path``."""
        raise NotImplementedError

    def read(self, tracker: Tracker, tmp_path: Path) -> Recorded:
        """What the backend holds, after ``tracker.finish``."""
        raise NotImplementedError

    def _run(self, tmp_path: Path, body: Any) -> Recorded:
        tracker = self.make(tmp_path)
        body(tracker)
        tracker.flush()
        tracker.finish("FINISHED")
        return self.read(tracker, tmp_path)

    def test_metrics_keep_their_steps(self, tmp_path: Path) -> None:
        """Every value lands at its step."""
        self._needs("metrics")

        def body(t: Tracker) -> None:
            t.log_metrics({"heldout/field_accuracy": 0.25}, step=0)
            t.log_metrics({"heldout/field_accuracy": 0.5, "drift/overall": 0.75}, step=2)
            t.log_metrics({"heldout/field_accuracy": 0.625}, step=4)

        rec = self._run(tmp_path, body)
        assert rec.metrics["heldout/field_accuracy"] == {0: 0.25, 2: 0.5, 4: 0.625}
        assert rec.metrics["drift/overall"] == {2: 0.75}

    def test_nan_is_counted_never_logged_as_a_number(self, tmp_path: Path) -> None:
        """An unscored value is listed in ``ftlineage.unscored_metrics``, never logged."""
        self._needs("metrics")
        rec = self._run(tmp_path, lambda t: t.log_metrics({"a": float("nan"), "b": 1.0}, step=1))
        assert "a" not in rec.metrics
        assert rec.metrics["b"] == {1: 1.0}
        assert "a" in rec.tags["ftlineage.unscored_metrics"].split(",")

    def test_the_same_step_twice_keeps_the_first_value(self, tmp_path: Path) -> None:
        """A replayed step (after a resume) does not add a second value."""
        self._needs("metrics")

        def body(t: Tracker) -> None:
            t.log_metrics({"a": 1.0}, step=3)
            t.log_metrics({"a": 2.0}, step=3)

        assert self._run(tmp_path, body).metrics["a"] == {3: 1.0}

    def test_tags_and_params_arrive_as_strings(self, tmp_path: Path) -> None:
        """Lineage tags and params are readable back as strings."""
        self._needs("metrics")

        def body(t: Tracker) -> None:
            t.set_tags(SHAS)
            t.log_params({"seed": 17, "training.learning_rate": 0.003})

        rec = self._run(tmp_path, body)
        assert {k: rec.tags[k] for k in SHAS} == SHAS
        assert rec.params["seed"] == "17"
        assert rec.params["training.learning_rate"] == "0.003"

    def test_trace_spans_carry_the_lineage_attributes(self, tmp_path: Path) -> None:
        """Nested spans keep their names and every lineage attribute."""
        self._needs("traces")
        spans: list[dict[str, Any]] = [
            {
                "name": f"case-{i}",
                "type": "CHAIN",
                "inputs": {"prompt": f"p{i}"},
                "outputs": {"score": 1.0},
                "attributes": {**SHAS, "ftlineage.case_id": f"case-{i}"},
                "children": [{"name": "generate", "attributes": {**SHAS, "ftlineage.case_id": f"case-{i}"}}],
            }
            for i in range(3)
        ]
        rec = self._run(tmp_path, lambda t: t.log_trace("checkpoint-2", spans, dict(SHAS)))
        recorded = rec.traces["checkpoint-2"]
        assert sorted(s["ftlineage.case_id"] for s in recorded if s.get("name") != "generate") == [
            "case-0",
            "case-1",
            "case-2",
        ]
        assert sum(s.get("name") == "generate" for s in recorded) == 3
        assert all(s["ftlineage.prompt_sha"] == SHAS["ftlineage.prompt_sha"] for s in recorded)
