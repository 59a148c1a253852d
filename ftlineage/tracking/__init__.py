"""Tracker and registry adapters (MLflow by default; W&B and Weave beside it).

Stage packages never import a backend: they receive a :class:`Tracker` and a
:class:`Registry`. The MLflow, W&B and Weave adapters are imported on first use
(``from ftlineage.tracking import MlflowTracker``), so importing this package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftlineage.lazy import lazy_getattr
from ftlineage.tracking._protocol import (
    LoadedModel,
    ModelVersion,
    Registry,
    Span,
    StoredTrace,
    TraceLedger,
    Tracker,
    as_span,
)

if TYPE_CHECKING:
    from ftlineage.tracking._fanout import FanoutTracker
    from ftlineage.tracking._filter import literal as filter_literal
    from ftlineage.tracking._mlflow import (
        MlflowTracker,
        check_server,
        get_run_or_fail,
        init_store,
        read_artifact_text,
        sqlite_init_lock,
    )
    from ftlineage.tracking._native import LoggedModelSink, dataset_input, primary_mlflow
    from ftlineage.tracking._native import describe as describe_run
    from ftlineage.tracking._native import log_inputs as log_run_inputs
    from ftlineage.tracking._prompts import PromptRegistry, load_registry_prompt
    from ftlineage.tracking._pyfunc import ENDPOINT_FILE
    from ftlineage.tracking._registry import MlflowRegistry, load_pyfunc
    from ftlineage.tracking._snapshot import snapshot
    from ftlineage.tracking._wandb import WandbTracker
    from ftlineage.tracking._weave import WeaveTracker
    from ftlineage.tracking._weave import sync as weave_sync

__all__ = [
    "ENDPOINT_FILE",
    "FanoutTracker",
    "LoadedModel",
    "LoggedModelSink",
    "MlflowRegistry",
    "MlflowTracker",
    "ModelVersion",
    "PromptRegistry",
    "Registry",
    "Span",
    "StoredTrace",
    "Tracker",
    "TraceLedger",
    "trace_ledger",
    "WandbTracker",
    "WeaveTracker",
    "weave_sync",
    "as_span",
    "check_server",
    "dataset_input",
    "describe_run",
    "filter_literal",
    "init_store",
    "load_pyfunc",
    "load_registry_prompt",
    "log_run_inputs",
    "primary_mlflow",
    "redact_url",
    "registry_of",
    "snapshot",
    "sqlite_init_lock",
    "read_artifact_text",
    "get_run_or_fail",
]

_LAZY = {
    "filter_literal": ("_filter", "literal"),
    "MlflowTracker": ("_mlflow", "MlflowTracker"),
    "init_store": ("_mlflow", "init_store"),
    "check_server": ("_mlflow", "check_server"),
    "sqlite_init_lock": ("_mlflow", "sqlite_init_lock"),
    "read_artifact_text": ("_mlflow", "read_artifact_text"),
    "get_run_or_fail": ("_mlflow", "get_run_or_fail"),
    "MlflowRegistry": ("_registry", "MlflowRegistry"),
    "load_pyfunc": ("_registry", "load_pyfunc"),
    "PromptRegistry": ("_prompts", "PromptRegistry"),
    "load_registry_prompt": ("_prompts", "load_registry_prompt"),
    "ENDPOINT_FILE": ("_pyfunc", "ENDPOINT_FILE"),
    "FanoutTracker": ("_fanout", "FanoutTracker"),
    "WandbTracker": ("_wandb", "WandbTracker"),
    "WeaveTracker": ("_weave", "WeaveTracker"),
    "LoggedModelSink": ("_native", "LoggedModelSink"),
    "primary_mlflow": ("_native", "primary_mlflow"),
    "dataset_input": ("_native", "dataset_input"),
    "describe_run": ("_native", "describe"),
    "log_run_inputs": ("_native", "log_inputs"),
    "snapshot": ("_snapshot", "snapshot"),
    "weave_sync": ("_weave", "sync"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)


def trace_ledger(tracker: Tracker) -> TraceLedger | None:
    """The tracker (or a fan-out's primary) that can list and delete its run's traces, else ``None``."""
    for candidate in (tracker, getattr(tracker, "primary", None)):
        if isinstance(candidate, TraceLedger):
            return candidate
    return None


def registry_of(tracker: Tracker) -> Registry:
    """The registry of the store a job's tracker writes to (its MLflow tracker's)."""
    from ftlineage.tracking._native import primary_mlflow
    from ftlineage.tracking._registry import MlflowRegistry

    mlflow_tracker = primary_mlflow(tracker)
    if mlflow_tracker is None:
        from ftlineage.errors import BadInputError

        raise BadInputError("this job has no MLflow tracker, so no registry to register a model in")
    return MlflowRegistry(mlflow_tracker.client)


def redact_url(url: str) -> str:
    """A store URL safe to show: a password in it (``postgresql://user:pw@host/db``) becomes ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{parts.username}:***@{host}{port}" if parts.username else f"***@{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))
