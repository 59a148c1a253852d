"""Every trace of a job goes through an outbox in the run's work folder: none lost, none twice.

:meth:`TraceOutbox.send` writes a trace to ``<run>/outbox/<name>.json`` before the tracker sees
it, and a receipt (``<name>.sent``, the trace id) once the tracker returned. A trace with a
receipt is not sent again (a checkpoint re-scored after a resume), unless the caller replaces it
(the arena, which a rerun judges again).

A job that resumes a killed run calls :meth:`TraceOutbox.reconcile` before it logs anything.
With a tracker that can list its run's traces (:class:`~ftlineage.tracking.TraceLedger`, MLflow)
each outboxed trace ends up in the store exactly once and whole: a copy cut off mid-write, a
copy whose assessments were still queued at the kill, and duplicates are deleted, and a trace
left with no whole copy is sent again. With any other tracker, traces without a receipt are
sent again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ftlineage.logging import get_logger
from ftlineage.readers import parse_versioned
from ftlineage.tracking import Span, StoredTrace, TraceLedger, Tracker, as_span, trace_ledger

if TYPE_CHECKING:
    from ftlineage.pipeline._context import JobContext

logger = get_logger(__name__)

OUTBOX_DIR = "outbox"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
_FIX = "delete the run's outbox folder to resume without re-checking its traces"


class OutboxTrace(BaseModel):
    """One trace as written before it is sent (``outbox/<name>.json``).

    Written to disk: never reorder or remove a field without bumping ``schema_version``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    name: str
    spans: tuple[dict[str, Any], ...]
    attributes: dict[str, Any]
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None

    def assessments(self) -> int:
        """How many judgements its spans carry: a stored copy with fewer is incomplete."""
        return sum(_assessments(as_span(s)) for s in self.spans)


class OutboxReceipt(BaseModel):
    """The tracker took a trace (``outbox/<name>.sent``).

    Written to disk: never reorder or remove a field without bumping ``schema_version``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    name: str
    trace_id: str


def _assessments(span: Span) -> int:
    return len(span.assessments) + sum(_assessments(c) for c in span.children)


class TraceOutbox:
    """A run's outbox of traces (see the module docstring). Used from one thread."""

    def __init__(self, folder: Path, tracker: Tracker) -> None:
        self.folder = folder
        self.tracker = tracker

    def send(
        self,
        name: str,
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        replace: bool = False,
    ) -> str:
        """Log one trace through the outbox and return its id.

        A trace ``name`` sent before is kept and its id returned; with ``replace`` it is deleted
        (where the tracker can) and this one sent instead.
        """
        sent = self._receipt(name)
        if sent is not None and not replace:
            return sent.trace_id
        if sent is not None:
            self._withdraw(sent)
        plain = tuple(asdict(as_span(s)) for s in spans)
        trace = OutboxTrace(name=name, spans=plain, attributes=attributes, inputs=inputs, outputs=outputs)
        _write(self._path(name, ".json"), trace.model_dump_json())
        return self._deliver(trace, spans)

    def reconcile(self) -> int:
        """After a crash, before anything is logged: each outboxed trace in the store once, whole.

        Returns how many traces were sent again.
        """
        traces = self._outboxed()
        if not traces:
            return 0
        ledger = trace_ledger(self.tracker)
        if ledger is None:
            missing = [t for t in traces if self._receipt(t.name) is None]
        else:
            missing = self._settle(ledger, traces)
        for trace in missing:
            self._deliver(trace, trace.spans)
        if missing:
            names = ", ".join(t.name for t in missing)
            logger.info("sent %d trace(s) the killed run had not delivered whole: %s", len(missing), names)
        return len(missing)

    def _settle(self, ledger: TraceLedger, traces: list[OutboxTrace]) -> list[OutboxTrace]:
        """Keep one whole stored copy of each trace and delete the others; the traces left without one."""
        by_name: dict[str, list[StoredTrace]] = {}
        for stored in ledger.stored_traces():
            by_name.setdefault(stored.name, []).append(stored)
        doomed = [s.trace_id for s in by_name.pop("", []) if not s.complete]  # cut off mid-write
        missing = []
        for trace in traces:
            copies = by_name.get(trace.name, [])
            whole = next((c for c in copies if c.complete and c.assessments >= trace.assessments()), None)
            doomed += [c.trace_id for c in copies if c is not whole]
            if whole is None:
                self._path(trace.name, ".sent").unlink(missing_ok=True)
                missing.append(trace)
            else:
                self._write_receipt(trace.name, whole.trace_id)
        if doomed:
            ledger.delete_traces(doomed)
            logger.info("deleted %d partial or duplicate trace(s) the killed run left", len(doomed))
        return missing

    def _deliver(self, trace: OutboxTrace, spans: Sequence[Span | Mapping[str, Any]]) -> str:
        trace_id = self.tracker.log_trace(
            trace.name, spans, dict(trace.attributes), inputs=trace.inputs, outputs=trace.outputs
        )
        self._write_receipt(trace.name, trace_id)
        return trace_id

    def _withdraw(self, sent: OutboxReceipt) -> None:
        """Forget a sent trace: receipt first, so a kill in between re-checks it on the next resume."""
        self._path(sent.name, ".sent").unlink(missing_ok=True)
        ledger = trace_ledger(self.tracker)
        if ledger is not None:
            ledger.delete_traces([sent.trace_id])

    def _outboxed(self) -> list[OutboxTrace]:
        if not self.folder.is_dir():
            return []
        return [_read(OutboxTrace, path) for path in sorted(self.folder.glob("*.json"))]

    def _receipt(self, name: str) -> OutboxReceipt | None:
        path = self._path(name, ".sent")
        return _read(OutboxReceipt, path) if path.is_file() else None

    def _write_receipt(self, name: str, trace_id: str) -> None:
        receipt = OutboxReceipt(name=name, trace_id=trace_id)
        _write(self._path(name, ".sent"), receipt.model_dump_json())

    def _path(self, name: str, suffix: str) -> Path:
        if not _NAME.fullmatch(name):
            raise ValueError(f"trace name must be letters, digits, '.', '_' or '-' but got {name!r}")
        return self.folder / f"{name}{suffix}"


def for_job(ctx: JobContext) -> TraceOutbox:
    """The outbox of a job's run: ``<work dir>/<run id>/outbox``."""
    return TraceOutbox(ctx.out / OUTBOX_DIR, ctx.tracker)


def _read(model: type[OutboxTrace] | type[OutboxReceipt], path: Path) -> Any:
    return parse_versioned(model, path.read_text(encoding="utf-8"), str(path), fix=_FIX)


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a kill mid-write leaves the previous file, or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
