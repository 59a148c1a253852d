"""MLflow adapter: resumes the run ``mlflow run`` created, logs through ``MlflowClient``.

Metrics are logged asynchronously (a training step never waits on the store); ``flush``
waits until everything logged so far is durable. A resumed run skips ``(name, step)``
pairs the store already holds, so a replay after a crash adds no duplicate steps.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from ftlineage._util import file_lock
from ftlineage.errors import TrackingUnreachable
from ftlineage.tracking._protocol import Span, StoredTrace, as_span

logger = logging.getLogger(__name__)


def init_store(tracking_uri: str | None = None) -> str:
    """Create a new sqlite store's schema once, under a file lock; returns the URI.

    MLflow creates and migrates a sqlite store's tables on first use, and two processes doing
    that at once collide (``duplicate column name: step``). The first to take the lock
    initializes; the others find the tables there. Other stores are returned untouched.
    """
    import mlflow

    uri = tracking_uri or mlflow.get_tracking_uri()
    if uri in _INITIALIZED:
        return uri
    if uri.startswith(("http://", "https://")):
        check_server(uri)
        _INITIALIZED.add(uri)
    if not uri.startswith("sqlite:///"):
        return uri
    with sqlite_init_lock(uri):
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    _INITIALIZED.add(uri)
    return uri


PROBE_TIMEOUT_S = 5.0


def check_server(uri: str | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Refuse an http(s) tracking URI where nothing accepts a connection within ``timeout_s``.

    MLflow retries a refused request with backoff for minutes (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``)
    before it raises; one bounded TCP connect says at once that no server is there. Raises
    :class:`~ftlineage.errors.TrackingUnreachable`, naming the URI (without credentials) and the fix.
    ``uri`` defaults to MLflow's; other stores (sqlite, files) are not touched.
    """
    if uri is None:
        import mlflow

        uri = mlflow.get_tracking_uri()
    if not uri.startswith(("http://", "https://")):
        return
    parts = urlsplit(uri)
    fix = "start it (`ftlineage stack up` or `mlflow server`) or set MLFLOW_TRACKING_URI to one that runs"
    host = f"{parts.scheme}://{parts.hostname or ''}"  # never the user:password a URI may hold
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TrackingUnreachable(
            f"tracking URI {host}: its port is not a number from 0 to 65535; fix MLFLOW_TRACKING_URI"
        ) from None
    if not parts.hostname:
        raise TrackingUnreachable(f"tracking URI {uri[:40]!r} names no host; set it to http://HOST:PORT")
    shown = f"{host}:{port}"
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            pass
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise TrackingUnreachable(f"tracking server {shown} does not answer ({why}); {fix}") from None


@contextmanager
def sqlite_init_lock(url: str) -> Iterator[None]:
    """Hold an exclusive file lock beside a sqlite database while its schema may be created.

    MLflow's and Optuna's sqlite stores create and stamp their tables on first use; two processes
    doing that at once collide. Anything that opens such a store first takes this lock. Other
    URLs pass through.
    """
    if not url.startswith("sqlite:///"):
        yield
        return
    db = Path(url[len("sqlite:///") :])
    db.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(f"{db}.ftlineage-init.lock"):
        yield


_INITIALIZED: set[str] = set()


def _experiment_id(client: MlflowClient, name: str) -> str:
    """The experiment's id, creating it; a job that lost the creation race uses the winner's."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp:
        return str(exp.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        winner = client.get_experiment_by_name(name)
        if winner is None:
            raise
        return str(winner.experiment_id)


class MlflowTracker:
    """Log to one MLflow run without touching MLflow's global active-run state."""

    def __init__(self, client: MlflowClient, run_id: str, *, resumed: bool = False) -> None:
        self.client = client
        self.run_id = run_id
        self.resumed = resumed
        self._unscored: set[str] = set()
        self._seen: set[tuple[str, int]] = set()
        self._pending: list[Any] = []
        self._assessor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftlineage-assessments")
        self._assessing: list[Future[None]] = []
        if resumed:
            run = client.get_run(run_id)
            for key in run.data.metrics:
                self._seen.update((key, m.step) for m in client.get_metric_history(run_id, key))

    @classmethod
    def start(
        cls,
        *,
        experiment: str,
        run_name: str,
        tracking_uri: str | None = None,
        resume_key: str | None = None,
        parent_run_id: str | None = None,
    ) -> MlflowTracker:
        """Resume ``MLFLOW_RUN_ID``, or a crashed run with ``resume_key``, or create a run.

        ``MLFLOW_RUN_ID`` is what ``mlflow run`` sets. A crashed run is one still RUNNING
        whose owning process is gone. New runs nest under ``parent_run_id`` when given.
        """
        client = MlflowClient(tracking_uri=init_store(tracking_uri))
        run_id = os.environ.get("MLFLOW_RUN_ID") if parent_run_id is None else None
        if run_id:
            client.get_run(run_id)  # fails loudly if the id is stale
            client.update_run(run_id, status="RUNNING")
            return cls(client, run_id)
        exp_id = _experiment_id(client, experiment)
        crashed = _crashed_run(client, exp_id, resume_key) if resume_key else None
        if crashed:
            client.set_tag(crashed, T.PID, _owner())
            return cls(client, crashed, resumed=True)
        tags = {T.PID: _owner()}
        if resume_key:
            tags[T.RESUME_KEY] = resume_key
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(exp_id, run_name=run_name, tags=tags)
        return cls(client, run.info.run_id)

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Queue finite values in one batch; NaN (unscored) values are listed in a tag."""
        now = int(time.time() * 1000)
        batch = []
        for key, value in metrics.items():
            if value is None or math.isnan(value):
                self._unscored.add(key)
                continue
            if (key, step) in self._seen:
                continue  # already in the store (a replay after a resume)
            self._seen.add((key, step))
            batch.append(Metric(key=key, value=float(value), timestamp=now, step=step))
        if batch:
            self._pending.append(self.client.log_batch(self.run_id, metrics=batch, synchronous=False))
        if self._unscored:
            self.set_tags({T.UNSCORED_METRICS: ",".join(sorted(self._unscored))})

    def flush(self) -> None:
        """Wait until every metric logged so far is in the store."""
        pending, self._pending = self._pending, []
        for op in pending:
            if op is not None:
                op.wait()

    def set_tags(self, tags: dict[str, str]) -> None:
        """Set run tags in one batch call."""
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_params(self, params: dict[str, Any]) -> None:
        """Log params in one batch call (values stringified, 6000-char MLflow limit)."""
        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for lo in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[lo : lo + 100])

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Upload a file or a directory's contents."""
        if path.is_dir():
            self.client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_trace(
        self,
        name: str,
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        """One trace linked to the run; each record is a child span (see :func:`as_span`)."""
        import mlflow

        assessments: list[tuple[str, dict[str, Any]]] = []
        with exporting_to(self.client.tracking_uri):
            root = self.client.start_trace(
                name,
                inputs=inputs if inputs is not None else {"spans": len(spans)},
                attributes=attributes,
                tags=attributes,
                experiment_id=self.client.get_run(self.run_id).info.experiment_id,
                run_id=self.run_id,
            )
            for record in spans:
                self._span(root.trace_id, root.span_id, record, assessments)
            self.client.end_trace(root.trace_id, outputs=outputs)
            mlflow.flush_trace_async_logging()
        if assessments:  # thousands of small writes: off the training thread, joined at finish
            self._assessing.append(
                self._assessor.submit(
                    log_assessments, self.client.tracking_uri, str(root.trace_id), assessments
                )
            )
        return str(root.trace_id)

    def _span(
        self,
        trace_id: str,
        parent_id: str,
        record: Span | Mapping[str, Any],
        assessments: list[tuple[str, dict[str, Any]]],
    ) -> None:
        item = as_span(record)
        span = self.client.start_span(
            item.name,
            trace_id=trace_id,
            parent_id=parent_id,
            span_type=item.type if item.type != "UNKNOWN" else "LLM",
            inputs=dict(item.inputs),
            attributes={k: v for k, v in item.attributes.items() if v is not None}
            | {T.SPAN_RUN: self.run_id},
        )
        for child in item.children:
            self._span(trace_id, span.span_id, child, assessments)
        self.client.end_span(trace_id, span.span_id, outputs=dict(item.outputs))
        assessments += [(span.span_id, dict(a)) for a in item.assessments]

    def finish(self, status: str) -> None:
        """Flush (assessments too), then terminate the run (so ``mlflow run`` leaves our status)."""
        self.flush()
        self.wait_for_assessments()
        self.client.set_terminated(self.run_id, status)

    def stored_traces(self) -> list[StoredTrace]:
        """The run's traces, and those a killed process left half-written (see :class:`TraceLedger`).

        A trace cut off before its root span ended has no name and no run link yet; it is found by
        the ``ftlineage.run_id`` attribute every span of ours carries.
        """
        exp_id = self.client.get_run(self.run_id).info.experiment_id
        found = [_stored(t) for t in self._search_traces(exp_id, run_id=self.run_id, include_spans=False)]
        cut_off = self._search_traces(exp_id, filter_string="trace.status = 'IN_PROGRESS'")
        known = {t.trace_id for t in found}
        found += [
            StoredTrace(str(t.info.trace_id), "", False)
            for t in cut_off
            if t.info.trace_id not in known
            and any(s.attributes.get(T.SPAN_RUN) == self.run_id for s in t.data.spans)
        ]
        return found

    def _search_traces(self, exp_id: str, **query: Any) -> list[Any]:
        """Every page of one trace search in the run's experiment."""
        traces: list[Any] = []
        token = None
        while True:
            page = self.client.search_traces(locations=[exp_id], max_results=500, page_token=token, **query)
            traces += list(page)
            token = page.token
            if not token:
                return traces

    def delete_traces(self, trace_ids: Sequence[str]) -> None:
        """Remove traces of the run by id (ids already gone are skipped by the store)."""
        if trace_ids:
            exp_id = self.client.get_run(self.run_id).info.experiment_id
            self.client.delete_traces(exp_id, trace_ids=list(trace_ids))

    def wait_for_assessments(self) -> None:
        """Block until every trace's assessments are written (a failed write is logged, not raised)."""
        pending, self._assessing = self._assessing, []
        for future in pending:
            if (error := future.exception()) is not None:
                logger.warning("assessments of a trace were not written: %s", error)


TRACE_NAME = "mlflow.traceName"


def _stored(trace: Any) -> StoredTrace:
    """What the ledger needs of a stored trace; it ended when its state is OK or ERROR."""
    info = trace.info
    ended = str(getattr(info.state, "value", info.state)) in ("OK", "ERROR")
    return StoredTrace(str(info.trace_id), str(info.tags.get(TRACE_NAME, "")), ended, len(info.assessments))


def log_assessments(tracking_uri: str, trace_id: str, assessments: list[tuple[str, dict[str, Any]]]) -> None:
    """Attach judgements to spans as MLflow assessments: scores as feedback, references as expectations.

    The source is the scorer (``CODE``) or the judge (``LLM_JUDGE``) that produced the value. Written
    through a client bound to ``tracking_uri`` (never the process-wide URI), so it may run on a thread.
    """
    from mlflow.entities import AssessmentSource, Expectation, Feedback
    from mlflow.tracing.client import TracingClient

    client = TracingClient(tracking_uri)
    for span_id, a in assessments:
        source = AssessmentSource(source_type=a.get("source_type", "CODE"), source_id=str(a["source"]))
        common = {
            "name": a["name"],
            "value": a["value"],
            "source": source,
            "trace_id": trace_id,
            "span_id": span_id,
        }
        entity = (
            Expectation(**common)
            if a.get("kind") == "expectation"
            else Feedback(**common, rationale=a.get("rationale"))
        )
        client.log_assessment(trace_id, entity)


def get_run_or_fail(client: MlflowClient, run_id: str, hint: str) -> Any:
    """The run, or :class:`BadInputError` naming the store and ``hint`` (what to pass instead)."""
    from mlflow.exceptions import MlflowException

    from ftlineage.errors import BadInputError

    try:
        return client.get_run(run_id)
    except MlflowException:
        raise BadInputError(f"no run {run_id!r} in {client.tracking_uri}; {hint}") from None


def read_artifact_text(client: MlflowClient, run_id: str, path: str) -> str | None:
    """One artifact of a run as text, or ``None`` when the run has no such artifact."""
    import tempfile

    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            return Path(client.download_artifacts(run_id, path, tmp)).read_text(encoding="utf-8")
        except (MlflowException, OSError):
            return None


@contextmanager
def exporting_to(uri: str) -> Iterator[None]:
    """Export traces to ``uri``, then leave the process exactly as it was.

    MLflow exports spans through the process-wide tracking URI (not the client's), and
    ``set_tracking_uri`` also rewrites ``MLFLOW_TRACKING_URI``; restoring with ``None`` would
    unset it. So both are saved and put back (MLflow 3.17 keeps the global in
    ``_tracking_service.utils._tracking_uri``), and the tracer is reset either side.

    Trace ids come from MLflow's own random generator (``MLFLOW_TRACE_USE_ISOLATED_RANDOM_ID_GENERATOR``),
    never from Python's global ``random``: the Trainer seeds that (``seed``) and restores it on a
    resume, which handed a resumed run the id of a trace it had logged before the crash, and the
    store overwrote that trace (issue 37); two runs of one seed collided the same way.
    """
    import mlflow
    from mlflow.tracking._tracking_service import utils

    old_global = utils._tracking_uri
    old_env = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", ISOLATED_TRACE_IDS)}
    os.environ[ISOLATED_TRACE_IDS] = "true"
    mlflow.set_tracking_uri(uri)
    mlflow.tracing.reset()
    try:
        yield
    finally:
        utils._tracking_uri = old_global
        for name, value in old_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        mlflow.tracing.reset()


ISOLATED_TRACE_IDS = "MLFLOW_TRACE_USE_ISOLATED_RANDOM_ID_GENERATOR"


def _owner() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    """Whether the process that owns a run still runs (unknown hosts count as alive)."""
    import socket

    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _crashed_run(client: MlflowClient, exp_id: str, resume_key: str) -> str | None:
    """The newest RUNNING run with this key whose owning process is gone (killed), if any."""
    runs = client.search_runs(
        [exp_id],
        f"tags.`{T.RESUME_KEY}` = '{resume_key}' and attributes.status = 'RUNNING'",
        order_by=["attributes.start_time DESC"],
        max_results=5,
    )
    for run in runs:
        if not _alive(run.data.tags.get(T.PID, "")):
            return str(run.info.run_id)
    return None
