"""Weave adapter: traces are written to a durable outbox first, delivered when a server answers.

Weave cannot start without its server (``weave.init`` asks for ``server_info`` and a
GraphQL project), so a trace is never sent directly: it is written to
``<outbox>/pending/<id>.json`` (fsync, atomic rename). Delivery goes through the real weave
client's ``calls_complete`` with call ids derived from the trace's content, then moves the
file to ``delivered/``. It runs in a child process (``ftlineage traces sync``) at the end of
the job, so ``weave.init``'s process-wide hooks (integration patches, an OpenTelemetry
tracer provider) never touch the training process. Undelivered traces stay on disk for a
later ``ftlineage traces sync``. A redelivery after a crash sends the same ids, which the
server upserts: nothing is lost and nothing is duplicated. Weave records traces only;
metrics and tags go to MLflow and W&B.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ftlineage.errors import missing_dependency
from ftlineage.logging import get_logger
from ftlineage.tracking._protocol import Span, as_span

NAMESPACE = uuid.UUID("6f1d3c52-9b0e-4c59-a0c4-2f5de8a1b7e3")

logger = get_logger(__name__)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_calls(
    project_id: str,
    trace_key: str,
    name: str,
    spans: Sequence[Span | Mapping[str, Any]],
    attributes: dict[str, str],
) -> list[dict[str, Any]]:
    """Weave ``calls_complete`` items: a root call per trace, one call per span (nested)."""
    now = _now()
    root_id = str(uuid.uuid5(NAMESPACE, trace_key))
    calls = [
        _call(project_id, root_id, root_id, None, name, "trace", attributes, {"spans": len(spans)}, {}, now)
    ]

    def add(record: Span | Mapping[str, Any], parent: str, path: str) -> None:
        call_id = str(uuid.uuid5(NAMESPACE, f"{trace_key}/{path}"))
        span = as_span(record)
        kind = "span" if span.type == "UNKNOWN" else span.type.lower()
        calls.append(
            _call(
                project_id,
                call_id,
                root_id,
                parent,
                span.name,
                kind,
                {**attributes, **span.plain_attributes()},
                dict(span.inputs),
                dict(span.outputs),
                now,
            )
        )
        for i, child in enumerate(span.children):
            add(child, call_id, f"{path}/{i}")

    for i, record in enumerate(spans):
        add(record, root_id, str(i))
    return calls


def _call(
    project_id: str,
    call_id: str,
    trace_id: str,
    parent: str | None,
    name: str,
    kind: str,
    attributes: dict[str, Any],
    inputs: Any,
    output: Any,
    now: str,
) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "id": call_id,
        "trace_id": trace_id,
        "parent_id": parent,
        "op_name": f"ftlineage.{kind}",
        "display_name": name,
        "started_at": now,
        "ended_at": now,
        "attributes": attributes,
        "inputs": inputs,
        "output": output,
        "summary": {},
        "exception": None,
    }


class Outbox:
    """``pending/`` and ``delivered/`` folders of trace files; writes are atomic renames."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for sub in ("pending", "delivered"):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    def put(self, trace_id: str, body: dict[str, Any]) -> Path:
        """Write one trace durably (fsync, then rename into ``pending/``)."""
        target = self.folder / "pending" / f"{trace_id}.json"
        tmp = target.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(body, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return target

    def pending(self) -> list[Path]:
        """Traces not yet delivered, oldest first."""
        return sorted((self.folder / "pending").glob("*.json"), key=lambda p: p.stat().st_mtime)

    def delivered(self, path: Path) -> None:
        """Move a delivered trace out of ``pending/``."""
        os.replace(path, self.folder / "delivered" / path.name)


def _client(project: str) -> Any:
    try:
        import weave
    except ImportError:
        raise missing_dependency("weave", "report_to: weave") from None
    return weave.init(project)


def sync(folder: Path, project: str | None = None) -> tuple[int, int, str | None]:
    """Deliver pending traces; returns (delivered, still pending, the reason if any remain)."""
    outbox = Outbox(folder)
    files = outbox.pending()
    if not files:
        return 0, 0, None
    delivered = 0
    try:
        clients: dict[str, Any] = {}
        for path in files:
            body = json.loads(path.read_text(encoding="utf-8"))
            name = project or body["project"]
            client = clients.get(name) or clients.setdefault(name, _client(name))
            batch = [{**c, "project_id": f"{client.entity}/{client.project}"} for c in body["calls"]]
            client.server.calls_complete({"batch": batch})
            outbox.delivered(path)
            delivered += 1
    except Exception as exc:  # server down, auth, network: the rest stays pending
        return delivered, len(files) - delivered, f"{type(exc).__name__}: {exc}"[:300]
    return delivered, 0, None


class WeaveTracker:
    """Trace sink for Weave (the ``Tracker`` contract's trace part; metrics are no-ops)."""

    def __init__(self, project: str, outbox: Path, run_id: str, *, sync_timeout: float = 180.0) -> None:
        self.project = project
        self.outbox = Outbox(outbox)
        self.run_id = run_id
        self.sync_timeout = sync_timeout
        self._count = 0
        self.last_report = ""

    def log_trace(
        self,
        name: str,
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        """Write the trace to the outbox (durable at once); delivery happens at ``flush``."""
        self._count += 1
        key = f"{self.run_id}/{name}/{self._count}"
        calls = to_calls(self.project, key, name, spans, dict(attributes))
        self.outbox.put(calls[0]["id"], {"project": self.project, "run_id": self.run_id, "calls": calls})
        return str(calls[0]["trace_id"])

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Weave holds traces, not metric history."""

    def set_tags(self, tags: dict[str, str]) -> None:
        """Run-level SHAs travel as attributes on every traced call."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Not a Weave concept."""

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Artifacts live in MLflow."""

    def flush(self) -> None:
        """Traces are durable once logged; delivery is ``finish``'s job."""

    def finish(self, status: str) -> None:
        """Deliver what can be delivered, in a child process; the rest waits on disk."""
        import subprocess

        if not self.outbox.pending():
            return
        cmd = [sys.executable, "-m", "ftlineage", "traces", "sync", "--dir", str(self.outbox.folder)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=self.sync_timeout)
            lines = (done.stdout or done.stderr).strip().splitlines()
            self.last_report = lines[-1] if lines else f"exit {done.returncode}"
        except subprocess.TimeoutExpired:
            self.last_report = f"delivery timed out after {self.sync_timeout:.0f} s"
        left = len(self.outbox.pending())
        if left:
            logger.warning(
                "weave: %d trace(s) kept in %s/pending (%s); deliver later with `ftlineage traces sync`",
                left,
                self.outbox.folder,
                self.last_report,
            )
