"""Sweep trials spread over processes and machines, coordinated by Optuna's RDB storage alone.

The process that owns the sweep (``ftlineage sweep --workers N``) counts the trials still to
run (target minus finished), keeps one share and starts N-1 worker processes with the others;
each worker loads the same study from the storage and runs exactly its share. Another machine
joins with ``ftlineage sweep --join`` on the same storage: it runs what is left when it starts
(target minus finished minus running). Trial numbers come from the storage, so no trial runs
twice; no queue of our own is involved. The storage URL travels in ``FTLINEAGE_SWEEP_STORAGE``,
never on a command line, because a PostgreSQL URL holds a password.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftlineage.errors import FtlineageError
from ftlineage.logging import get_logger

logger = get_logger(__name__)

STORAGE_ENV = "FTLINEAGE_SWEEP_STORAGE"
PARENT_ATTR = "ftlineage.parent_run_id"


def remaining(study: Any, trials: int, *, count_running: bool) -> int:
    """Trials still to start: the target minus those finished (and running, with ``count_running``).

    The owner does not count RUNNING trials: on a resume they are the killed run's, which Optuna
    marks FAIL once their heartbeat is stale, and they must run again. A joining machine counts
    them, so it does not take trials the owner's workers are running.
    """
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED) + ((TrialState.RUNNING,) if count_running else ())
    return max(0, trials - len(study.get_trials(deepcopy=False, states=states)))


def shares(total: int, workers: int) -> list[int]:
    """``total`` trials split over ``workers`` as evenly as possible (the first ones get more)."""
    base, extra = divmod(total, workers)
    return [base + (1 if i < extra else 0) for i in range(workers)]


def spawn(recipe_path: Path, storage: str, study_name: str, counts: Sequence[int]) -> list[Any]:
    """Start one ``ftlineage sweep --join --share K`` process per positive count."""
    env = {**os.environ, STORAGE_ENV: storage}
    procs = []
    for k in counts:
        if k <= 0:
            continue
        cmd = [sys.executable, "-m", "ftlineage", "sweep", str(recipe_path), "--join", "--share", str(k),
               "--study", study_name]  # fmt: skip
        procs.append(subprocess.Popen(cmd, env=env))
    logger.info("sweep: %d worker process(es) started with %s trial(s)", len(procs), list(counts))
    return procs


def wait_all(procs: Sequence[Any]) -> None:
    """Wait for every worker; a failed one fails the sweep (re-running the command resumes it)."""
    codes = [p.wait() for p in procs]
    failed = [c for c in codes if c != 0]
    if failed:
        raise FtlineageError(
            f"{len(failed)} sweep worker(s) failed (exit {failed}); their trials are marked FAIL "
            "when their heartbeats stop; re-run the same command and the study resumes"
        )


def parent_run_id(study: Any) -> str:
    """The MLflow run the study's owner opened (trials nest under it)."""
    run_id = study.user_attrs.get(PARENT_ATTR)
    if not run_id:
        raise FtlineageError(
            f"study {study.study_name!r} has no owning sweep run yet; start it with `ftlineage sweep` "
            "(without --join) first"
        )
    return str(run_id)
