"""One run lifecycle for the job, the sweep (parent and trials) and the seeds (parent and children).

Start the MLflow run (resuming a crashed one when asked), fan out to W&B / Weave when the recipe
or ``FTLINEAGE_REPORT_TO`` asks, time stages, and finish: ``FINISHED`` on return, ``FAILED`` with
the error tagged and on the run page on any exception (``KeyboardInterrupt`` included). A run is
never left ``RUNNING`` by a process that exits through Python.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ftlineage import tags as T
from ftlineage.logging import get_logger
from ftlineage.recipe import Recipe
from ftlineage.settings import Settings
from ftlineage.tracking import Tracker

logger = get_logger(__name__)


def start_run(
    recipe: Recipe,
    settings: Settings,
    run_name: str,
    *,
    resume_key: str | None = None,
    parent_run_id: str | None = None,
) -> Tracker:
    """The MLflow run (the system of record), fanned out to W&B / Weave when asked."""
    from ftlineage.tracking import MlflowTracker

    tracker = MlflowTracker.start(
        experiment=recipe.name, run_name=run_name, resume_key=resume_key, parent_run_id=parent_run_id
    )
    if tracker.resumed:
        logger.info("resuming run %s (a crashed run of this recipe and corpus)", tracker.run_id)
    spec = recipe.tracking
    asked = set(spec.report_to) | set(settings.report_to)
    others: list[Tracker] = []
    if "wandb" in asked:
        from ftlineage.tracking import WandbTracker

        work = settings.work_dir.resolve()
        others.append(
            WandbTracker.start(
                project=spec.wandb_project, run_id=tracker.run_id, name=run_name, work_dir=work
            )
        )
    if "weave" in asked:
        from ftlineage.tracking import WeaveTracker

        outbox = settings.work_dir.resolve() / "weave-outbox"
        others.append(WeaveTracker(spec.weave_project or spec.wandb_project, outbox, tracker.run_id))
    if not others:
        return tracker
    from ftlineage.tracking import FanoutTracker

    return FanoutTracker(tracker, others)


@contextmanager
def lifecycle(tracker: Tracker, on_error: Callable[[BaseException], None] | None = None) -> Iterator[Tracker]:
    """Finish ``tracker``'s run FINISHED on return, FAILED (error tagged) on any exception."""
    try:
        yield tracker
    except BaseException as exc:
        try:
            tracker.set_tags({T.DECISION: "error", T.ERROR: str(exc)[:500]})
            if on_error is not None:
                on_error(exc)
        finally:
            tracker.finish("FAILED")
        raise
    tracker.finish("FINISHED")


@contextmanager
def timed(tracker: Tracker, stage: str) -> Iterator[None]:
    """Tag the stage's wall time as ``ftlineage.time.<stage>_s`` and log it."""
    logger.info("%s ...", stage)
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    tracker.set_tags({T.time_tag(stage): f"{seconds:.1f}"})
    logger.info("%s done in %.1fs", stage, seconds)
