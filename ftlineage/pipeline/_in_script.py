"""The in-script path: gate a model trained by the user's own script, inside the user's own MLflow run.

::

    import mlflow, ftlineage
    with mlflow.start_run():
        cb = ftlineage.gate_callback("recipes/my.yaml", tokenizer, base_model=model)
        trainer = SFTTrainer(model=model, ..., callbacks=[cb])
        trainer.train()
        best = cb.best()
        result = ftlineage.gate_run("recipes/my.yaml", best.path, step=best.step)

The callback logs the base at step 0 and every checkpoint's scores, drift and plot to the
active run; :func:`gate_run` scores the chosen checkpoint against the base, runs the arena and the
rule, writes the decision, card and evidence into *that* run and registers on a pass. It never
starts a run or ends one; its params are prefixed ``ftlineage.`` so they cannot collide with the
script's own (a Trainer's ``MLflowCallback`` logs ~150).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ftlineage import tags as T
from ftlineage.candidates import CandidateSpec
from ftlineage.errors import BadInputError
from ftlineage.logging import get_logger
from ftlineage.pipeline._context import JobContext, JobResult
from ftlineage.settings import Settings

logger = get_logger(__name__)


def _user_run(run_id: str | None) -> str:
    import mlflow

    active = mlflow.active_run()
    found = run_id or (active.info.run_id if active else None) or os.environ.get("MLFLOW_RUN_ID")
    if not found:
        raise BadInputError(
            "gate_run: no run to gate; call it inside `with mlflow.start_run():` or pass run_id=RUN_ID"
        )
    return found


def _context(recipe: str | Path, run_id: str | None, checkpoint: str | None) -> JobContext:
    from mlflow.tracking import MlflowClient

    from ftlineage.pipeline import new_context, prepare
    from ftlineage.tracking import MlflowTracker, get_run_or_fail, init_store

    recipe_obj, suite, rows = prepare(Path(recipe), None, trains=False)
    if checkpoint is not None:
        spec = CandidateSpec(kind="model", path=str(Path(checkpoint).resolve()))
        recipe_obj = recipe_obj.model_copy(update={"candidate": spec})
    client = MlflowClient(tracking_uri=init_store())
    rid = _user_run(run_id)
    get_run_or_fail(client, rid, "pass the run id your script trained in")
    ctx = new_context(recipe_obj, suite, rows, Settings.from_env(), MlflowTracker(client, rid))
    ctx.in_script = True
    return ctx


def gate_callback(recipe: str | Path, tokenizer: Any, *, base_model: Any, run_id: str | None = None) -> Any:
    """An :class:`~ftlineage.training.EvalGateCallback` scoring on the recipe's suite into the user's run.

    ``base_model`` is scored now (step 0); every checkpoint the Trainer saves is scored in the
    recipe's prompt format with the recipe's drift bands and plateau rule, logged to the run
    (metrics, per-case traces, the checkpoint plot).
    """
    from ftlineage.pipeline._train import _scorer, _tracker_sink, gate_policy, prompt_format
    from ftlineage.training import EvalGateCallback

    ctx = _context(recipe, run_id, None)
    fmt = prompt_format(ctx, tokenizer)
    box: dict[str, Any] = {}
    evaluate = _scorer(ctx, tokenizer, fmt, box)
    base = evaluate(base_model)
    ctx.tracker.log_metrics(base, step=0)
    sink = _tracker_sink(ctx, base, box)
    sink.trace_cases(0, box["last"], "", base)
    return EvalGateCallback(evaluate, base, [sink], gate_policy(ctx), ctx.recipe.training.eval_every)


def gate_run(
    recipe: str | Path, checkpoint: str | Path, *, run_id: str | None = None, step: int = 0
) -> JobResult:
    """Arena, rule, decision, card and (on a pass) registration for ``checkpoint``, in the user's run.

    ``checkpoint`` is a model folder or a PEFT adapter folder (merged into the recipe's base).
    The run is left open; on an error it is tagged ``ftlineage.error`` and the error re-raised.
    """
    from ftlineage.pipeline import _candidates, _stages, gate_trained, start

    ctx = _context(recipe, run_id, str(checkpoint))
    try:
        start(ctx)
        report = None
        if ctx.recipe.corpus:
            audited = _stages.audit_stage(ctx)
            report = audited.report
            if report.verdict == "blocked":
                from ftlineage.pipeline import _audit_block

                return _audit_block(ctx, report.reasons)
        trained = _candidates.model_candidate(ctx, step)
        return gate_trained(ctx, trained, report)
    except Exception as exc:
        ctx.tracker.set_tags({T.ERROR: f"{type(exc).__name__}: {exc}"[:4000]})
        raise
    finally:
        flush = getattr(ctx.tracker, "flush", None)
        if flush:
            flush()
