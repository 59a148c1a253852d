"""Run ``ftlineage run --recipe RECIPE`` and kill -9 the process at a chosen point (issue 37 tests).

Usage: ``python _kill_at.py POINT STEP RECIPE``, where POINT is one of

* ``next-step``: at the training step after checkpoint STEP (everything about STEP is done);
* ``scored``: right after checkpoint STEP's trace and logged model, before the checkpoint is
  marked scored (a resume scores it again);
* ``mid-trace``: inside checkpoint STEP's trace, once a few spans are stored and before its
  root span ends (the store holds a half-written trace).

The process kills itself with SIGKILL: nothing is flushed, closed or marked, as with ``kill -9``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _at_next_step(step: int) -> None:
    from ftlineage.training import EvalGateCallback

    original = EvalGateCallback.on_step_end

    def on_step_end(self: Any, args: Any, state: Any, control: Any, **kw: Any) -> Any:
        if state.global_step == step + 1:
            _die()
        return original(self, args, state, control, **kw)

    EvalGateCallback.on_step_end = on_step_end  # type: ignore[method-assign]


def _when_scored(step: int) -> None:
    from ftlineage.tracking import LoggedModelSink

    original = LoggedModelSink.on_checkpoint

    def on_checkpoint(self: Any, score: Any, assessment: Any, history: Any) -> Any:
        result = original(self, score, assessment, history)
        if score.step == step:
            _die()
        return result

    LoggedModelSink.on_checkpoint = on_checkpoint  # type: ignore[method-assign]


def _mid_trace(step: int) -> None:
    import mlflow

    from ftlineage.tracking import MlflowTracker

    log_trace, span = MlflowTracker.log_trace, MlflowTracker._span
    seen = {"inside": False, "spans": 0}

    def traced(self: Any, name: str, *args: Any, **kw: Any) -> Any:
        seen["inside"] = name == f"checkpoint-{step}"
        return log_trace(self, name, *args, **kw)

    def spanned(self: Any, *args: Any, **kw: Any) -> Any:
        if seen["inside"]:
            seen["spans"] += 1
            if seen["spans"] == 4:  # one case span and its two children are stored by now
                mlflow.flush_trace_async_logging()
                _die()
        return span(self, *args, **kw)

    MlflowTracker.log_trace = traced  # type: ignore[method-assign]
    MlflowTracker._span = spanned  # type: ignore[method-assign]


POINTS = {"next-step": _at_next_step, "scored": _when_scored, "mid-trace": _mid_trace}

if __name__ == "__main__":
    point, step, recipe = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    POINTS[point](step)
    from ftlineage.cli import main

    sys.exit(main(["run", "--recipe", recipe]))
