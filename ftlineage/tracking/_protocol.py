"""The ``Tracker`` contract every tracking backend adapter implements."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Tracker(Protocol):
    """Where scores, tags and artifacts of one job go.

    Contract:
        * Calls are made from one thread; adapters need not be thread-safe.
        * ``log_metrics`` never drops a value: a NaN (unscored) is skipped *and* counted in
          the ``ftlineage.unscored_metrics`` tag, not logged as a number.
        * ``log_metrics`` with the same ``(name, step)`` twice keeps one value (the first).
        * ``log_metrics`` may queue; after ``flush`` returns, everything logged is durable.
        * Adapters never compute scores; they only record what they are given.
    """

    run_id: str

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Record metric values at a step."""

    def set_tags(self, tags: dict[str, str]) -> None:
        """Attach string tags to the run."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Record run parameters (flat, stringifiable)."""

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Upload a local file or directory as a run artifact."""

    def log_trace(
        self,
        name: str,
        spans: list[dict[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        """Record one trace of ``spans``, each carrying its attributes.

        A span record is ``{"name", "type", "inputs", "outputs", "attributes", "children"}``
        (children nest), or a flat dict whose fields are the attributes. A record may carry
        ``"assessments"``: ``[{"name", "value", "kind": "feedback"|"expectation", "source"}]``,
        judgements of that span that backends with an assessment model (MLflow 3) attach to it.
        ``inputs``/``outputs`` describe the trace as a whole (its root span).
        """
        ...

    def flush(self) -> None:
        """Block until every value logged so far is durable."""

    def finish(self, status: str) -> None:
        """Mark the run terminated: ``FINISHED`` or ``FAILED``."""
