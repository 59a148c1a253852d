"""One ``Tracker`` that writes to several: MLflow first (the system of record), then the rest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ftlineage.tracking._protocol import Span, Tracker


class FanoutTracker:
    """Forward every call to each tracker; ``run_id`` and ``client`` are the primary's."""

    def __init__(self, primary: Any, others: list[Tracker]) -> None:
        self.primary = primary
        self.others = others
        self.run_id = primary.run_id
        self.client = getattr(primary, "client", None)

    @property
    def all(self) -> list[Any]:
        """The primary, then the others."""
        return [self.primary, *self.others]

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Log to every tracker."""
        for t in self.all:
            t.log_metrics(metrics, step=step)

    def set_tags(self, tags: dict[str, str]) -> None:
        """Tag every run."""
        for t in self.all:
            t.set_tags(tags)

    def log_params(self, params: dict[str, Any]) -> None:
        """Params on every run."""
        for t in self.all:
            t.log_params(params)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Artifacts to every tracker (each decides what it keeps)."""
        for t in self.all:
            t.log_artifact(path, artifact_path)

    def log_trace(
        self,
        name: str,
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        """Traces to every tracker; returns the primary's trace id."""
        ids = [t.log_trace(name, spans, attributes, inputs=inputs, outputs=outputs) for t in self.all]
        return str(ids[0])

    def flush(self) -> None:
        """Flush every tracker."""
        for t in self.all:
            t.flush()

    def finish(self, status: str) -> None:
        """Finish the others first, the system of record last."""
        for t in self.others:
            t.finish(status)
        self.primary.finish(status)
