"""The ``Tracker`` and ``Registry`` contracts every tracking backend adapter implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ftlineage.models import PromptFormat


@dataclass(frozen=True)
class Span:
    """One traced step: what went in, what came out, its attributes, nested children, judgements.

    ``assessments`` are judgements of this span (``{"name", "value", "kind":
    "feedback"|"expectation", "source", ...}``) that backends with an assessment model (MLflow 3)
    attach to it.
    """

    name: str
    type: str = "UNKNOWN"
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[Span, ...] = ()
    assessments: tuple[Mapping[str, Any], ...] = ()

    def plain_attributes(self) -> dict[str, Any]:
        """Attributes every backend can store: no ``None``, no nested containers."""
        return {k: v for k, v in self.attributes.items() if v is not None and not isinstance(v, (dict, list))}


def as_span(record: Span | Mapping[str, Any]) -> Span:
    """A :class:`Span` from a span or a mapping (the one place a dict record is read).

    A mapping with ``attributes`` is structured like a span; one without is flat, and its fields
    are the attributes (its ``name``, else its ``id``, names it).
    """
    if isinstance(record, Span):
        return record
    if "attributes" not in record:
        return Span(name=str(record.get("name", record.get("id", "span"))), attributes=dict(record))
    return Span(
        name=str(record.get("name", record.get("id", "span"))),
        type=str(record.get("type", "UNKNOWN")),
        inputs=dict(record.get("inputs") or {}),
        outputs=dict(record.get("outputs") or {}),
        attributes=dict(record["attributes"] or {}),
        children=tuple(as_span(c) for c in record.get("children", ())),
        assessments=tuple(record.get("assessments", ())),
    )


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
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        """Record one trace of ``spans`` (children nest), each carrying its attributes.

        Adapters read each record through :func:`as_span`. ``inputs``/``outputs`` describe the
        trace as a whole (its root span).
        """
        ...

    def flush(self) -> None:
        """Block until every value logged so far is durable."""

    def finish(self, status: str) -> None:
        """Mark the run terminated: ``FINISHED`` or ``FAILED``."""


@dataclass(frozen=True)
class StoredTrace:
    """A trace a run's store already holds, as the store reports it.

    ``name`` is empty for a trace cut off before its root span ended (a killed process): such a
    trace is never ``complete``. ``assessments`` counts the judgements attached to its spans.
    """

    trace_id: str
    name: str
    complete: bool
    assessments: int = 0


@runtime_checkable
class TraceLedger(Protocol):
    """A tracker capability: list and delete the traces of its run (MLflow has it).

    A resumed job uses it to deliver every trace exactly once and whole after a crash.

    Contract:
        * ``stored_traces`` lists every trace of the run ``log_trace`` returned for, and every
          trace of the run a killed process left half-written (``complete`` false), in no
          particular order. It is called before this process logs anything (no write in flight).
        * ``delete_traces`` removes traces by id; an id that is gone already is skipped.
    """

    def stored_traces(self) -> list[StoredTrace]:
        """The run's traces in the store."""
        ...

    def delete_traces(self, trace_ids: Sequence[str]) -> None:
        """Remove the run's traces with these ids."""


@dataclass(frozen=True)
class ModelVersion:
    """One registry version as the registry reports it."""

    name: str
    version: str
    source: str
    run_id: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedModel:
    """A registered version loaded for scoring: the weights, the tokenizer, its prompt format."""

    model: Any
    tokenizer: Any
    template: PromptFormat
    generator: Any = None  # an endpoint version answers through this (model and tokenizer are None)


@runtime_checkable
class Registry(Protocol):
    """Where passing models are registered and aliased; the registry transition is the deploy gate.

    Contract (checked by :class:`ftlineage.testing.RegistryContract`):
        * Versions are numbered ``"1"``, ``"2"``, ... per model, in creation order; a version is
          created with all of its tags in one call (never visible without them).
        * ``claim`` is atomic across processes: of two callers claiming the same key exactly
          one gets ``True``. It is the compare-and-set every alias move is built on.
        * Reads of something missing return ``None`` (or empty), never raise; writes to a
          missing model or version raise the backend's error.
        * The registry never decides anything: refusing a blocked run, the promotion ledger
          and evidence checks live in :mod:`ftlineage.gate` (the policy side).
        * ``kind`` is ``"model"`` (versions serve files) or ``"prompt"`` (versions serve a template).
    """

    uri: str
    kind: str

    def ensure_model(self, name: str, description: str = "") -> None:
        """Create the registered model ``name`` unless it exists."""

    def create_version(
        self, name: str, *, source: str, run_id: str, tags: Mapping[str, str], description: str
    ) -> ModelVersion:
        """A new version of ``name`` carrying ``tags`` and ``description`` from the start."""
        ...

    def get_version(self, name: str, version: str) -> ModelVersion | None:
        """One version, or ``None``."""
        ...

    def find_versions(
        self, name: str, *, run_id: str | None = None, tag: tuple[str, str] | None = None
    ) -> list[ModelVersion]:
        """Versions of ``name`` (from ``run_id``, carrying ``tag``), oldest first."""
        ...

    def delete_version(self, name: str, version: str) -> None:
        """Remove one version."""

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set one tag on a version."""

    def aliases(self, name: str) -> dict[str, str]:
        """``{alias: version}`` of ``name`` (empty when the model does not exist)."""
        ...

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``@alias`` at ``version`` (unconditionally: compare-and-set is ``claim``'s job)."""

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``@alias``."""

    def transition_stage(self, name: str, version: str, stage: str) -> None:
        """Legacy stage transition (archiving the others), where the backend has stages."""

    def claim(self, key: str, tags: Mapping[str, str], description: str = "") -> bool:
        """Atomically create the record ``key`` with ``tags``; ``False`` if it exists already."""
        ...

    def claimed(self, key: str) -> tuple[dict[str, str], float] | None:
        """A claim's tags and creation time (epoch seconds), or ``None``."""
        ...

    def claims(self, prefix: str) -> list[str]:
        """Keys of the claims starting with ``prefix``."""
        ...

    def release(self, key: str) -> None:
        """Delete a claim (a move that did not happen frees its slot)."""

    def run_tags(self, run_id: str) -> dict[str, str] | None:
        """A run's tags, or ``None`` when there is no such run."""
        ...

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        """Set one tag on a run."""

    def read_run_file(self, run_id: str, path: str) -> str | None:
        """A text artifact of a run (the evidence it logged), or ``None``."""
        ...

    def log_candidate(
        self,
        run_id: str,
        model_dir: Path,
        *,
        template: str | PromptFormat,
        max_new_tokens: int,
        extra_files: Mapping[str, str] | None = None,
        input_example: str = "",
        metric_step: int | None = None,
    ) -> str:
        """Package an exported model as ``run_id``'s candidate (what a version will point at); its URI."""
        ...

    def candidate_source(self, run_id: str) -> str:
        """The source URI a version registered from ``run_id`` points at (the run's candidate model)."""
        ...

    def content_sha(self, uri: str) -> str:
        """SHA-256 of the content ``uri`` serves, read back from the store (not from a tag).

        Evidence binds a version to this digest; it must be the digest the guard server computes
        for the same files (:func:`ftlineage.lineage.sha256_content`).
        """
        ...

    def served_sha(self, name: str, version: str) -> str:
        """SHA-256 of what version ``version`` of ``name`` serves (its files, or a prompt's template tags)."""
        ...

    def load(self, name: str, version: str) -> LoadedModel:
        """Load a version for scoring."""
        ...
