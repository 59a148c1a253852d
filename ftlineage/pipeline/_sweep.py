"""``ftlineage sweep``: an Optuna study over the recipe, pruned on held-out scores, then gated.

The study lives in a sqlite storage, so a killed sweep resumes where it stopped: trials
left RUNNING are marked FAIL (their MLflow runs FAILED) and only the missing trials run.
Each trial is a nested MLflow run under one sweep run; the callback reports every
checkpoint's held-out score to the trial and the median pruner stops trials that track
below the others. The best trial goes on to the arena, the gate and the registry.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage import lineage
from ftlineage._userfile import parse_versioned
from ftlineage.models import load_model, resolve_base
from ftlineage.pipeline import _prepare, _start, gate_trained
from ftlineage.pipeline._context import JobContext, JobResult
from ftlineage.pipeline._sinks import OptunaSink
from ftlineage.pipeline._stages import audit_stage, split_stage
from ftlineage.pipeline._train import train_stage
from ftlineage.recipe import Recipe
from ftlineage.scoring import SuiteScores
from ftlineage.settings import Settings
from ftlineage.tracking import sqlite_init_lock
from ftlineage.tracking._mlflow import MlflowTracker


@dataclass(frozen=True)
class SweepResult:
    """How the study ended, and the gate's result for its best trial (``None``: none completed)."""

    study_name: str
    storage: str
    states: dict[str, int]
    best_trial: int | None
    best_value: float | None
    job: JobResult | None


def _trial_recipe(recipe: Recipe, trial: Any) -> Recipe:
    space = recipe.sweep
    lr = trial.suggest_float("learning_rate", *space.learning_rate, log=True)
    r = trial.suggest_categorical("lora_r", list(space.lora_r))
    t = recipe.training
    training = t.model_copy(
        update={"learning_rate": lr, "lora": t.lora.model_copy(update={"r": r, "alpha": 2 * r})}
    )
    return recipe.model_copy(update={"training": training})


class _Objective:
    """One trial: a nested run that trains with the pruning sink and returns the best held-out score."""

    def __init__(self, recipe: Recipe, suite: Any, settings: Settings, rows: list[dict], parent: JobContext):
        self.recipe, self.suite, self.settings, self.rows, self.parent = recipe, suite, settings, rows, parent

    def __call__(self, trial: Any) -> float:
        import optuna

        recipe = _trial_recipe(self.recipe, trial)
        tracker = MlflowTracker.start(
            experiment=recipe.name, run_name=f"trial-{trial.number}", parent_run_id=self.parent.tracker.run_id
        )
        trial.set_user_attr("run_id", tracker.run_id)
        tracker.set_tags({"ftlineage.trial_number": str(trial.number), "ftlineage.trial_state": "running"})
        ctx = JobContext(
            recipe,
            self.suite,
            self.settings,
            tracker,
            self.settings.work_dir.resolve() / tracker.run_id,
            self.rows,
        )
        ctx.results["kept"] = self.parent.results["kept"]
        sink = OptunaSink(trial, recipe.sweep.metric)
        try:
            _start(ctx)
            train_stage(ctx, split_stage(ctx), sinks=[sink])
        except BaseException:
            tracker.set_tags({"ftlineage.trial_state": "failed"})
            tracker.finish("FAILED")
            raise
        state = "pruned" if sink.pruned_at is not None else "complete"
        tracker.set_tags({"ftlineage.trial_state": state, **lineage.lineage_tags(ctx.lineage)})
        tracker.finish("FINISHED")
        if sink.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned at step {sink.pruned_at}")
        value = ctx.results["candidate"].get(recipe.sweep.metric, 0.0)
        return 0.0 if value != value else float(value)


def _fail_stale(study: Any, client: Any) -> int:
    """Trials a killed sweep left RUNNING become FAIL; their runs FAILED. Returns how many."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        run_id = trial.user_attrs.get("run_id")
        if run_id and client.get_run(run_id).info.status == "RUNNING":
            client.set_tag(run_id, "ftlineage.trial_state", "failed (interrupted)")
            client.set_terminated(run_id, "FAILED")
    return len(stale)


def _reload(ctx: JobContext) -> None:
    """Fill ``ctx.results``/``ctx.lineage`` for a trained trial from its run folder and tags."""
    model, tok = load_model(str(ctx.out / "export"))
    ctx.results.update(
        merged=model,
        tokenizer=tok,
        base_ref=resolve_base(ctx.recipe.base_model, ctx.settings.cache_dir, progress=False),
    )
    for label in ("baseline", "candidate"):
        path = ctx.out / "scores" / f"{label}.json"
        scores = parse_versioned(SuiteScores, path.read_text("utf-8"), str(path))
        ctx.results[label], ctx.results[f"{label}_scores"] = dict(scores.metrics), scores
    tags = ctx.tracker.client.get_run(ctx.tracker.run_id).data.tags  # type: ignore[attr-defined]
    ctx.lineage.update(
        {
            k.removeprefix("ftlineage."): v
            for k, v in tags.items()
            if k.startswith("ftlineage.") and k.endswith("_sha")
        }
    )


def run_sweep(recipe_path: Path, trials: int, storage: str | None, study_name: str | None) -> SweepResult:
    """Run (or resume) the study to ``trials`` finished trials, then gate the best one."""
    try:
        import optuna
    except ImportError:
        from ftlineage.errors import missing_dependency

        raise missing_dependency("optuna", "ftlineage sweep") from None
    settings = Settings.from_env()
    recipe, suite, rows = _prepare(recipe_path, None)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(settings.work_dir / 'optuna.db').resolve()}"
    name = study_name or f"{recipe.name}-sweep"
    pruner = optuna.pruners.MedianPruner(n_startup_trials=recipe.sweep.startup_trials, n_warmup_steps=0)
    with sqlite_init_lock(storage):  # a new sqlite study's tables are created by one process at a time
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            direction="maximize",
            load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=recipe.seed),
            pruner=pruner,
        )
    parent = MlflowTracker.start(
        experiment=recipe.name,
        run_name=name,
        resume_key=lineage.sha256_json({"study": name, "storage": storage}, domain="sweep"),
    )
    ctx = JobContext(recipe, suite, settings, parent, settings.work_dir.resolve() / parent.run_id, rows)
    _start(ctx)
    parent.set_tags({"ftlineage.study": name, "ftlineage.optuna_storage": storage})
    stale = _fail_stale(study, parent.client)
    if stale:
        print(f"ftlineage: sweep {name}: {stale} interrupted trial(s) marked FAIL; resuming", file=sys.stderr)
    audit_report = audit_stage(ctx)
    if audit_report.verdict == "blocked":
        raise _blocked_error(audit_report)
    from optuna.trial import TrialState

    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(_Objective(recipe, suite, settings, rows, ctx), n_trials=max(0, trials - done), catch=())
    return _finish(study, ctx, audit_report, storage)


def _blocked_error(report: Any) -> Exception:
    from ftlineage.errors import AuditBlocked

    return AuditBlocked("the data audit blocked the sweep: " + "; ".join(report.reasons))


def _finish(study: Any, parent: JobContext, audit_report: Any, storage: str) -> SweepResult:
    from optuna.trial import TrialState

    states = {s.name.lower(): len(study.get_trials(deepcopy=False, states=(s,))) for s in TrialState}
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    parent.tracker.log_metrics({f"sweep/{k}": float(v) for k, v in states.items()}, step=0)
    job = None
    best = study.best_trial if complete else None
    if best is not None:
        run_id = best.user_attrs["run_id"]
        parent.tracker.set_tags({"ftlineage.best_trial": str(best.number), "ftlineage.best_run_id": run_id})
        tracker = MlflowTracker(parent.tracker.client, run_id, resumed=True)  # type: ignore[attr-defined]
        recipe = _trial_recipe(parent.recipe, optuna_fixed(best))
        ctx = JobContext(
            recipe,
            parent.suite,
            parent.settings,
            tracker,
            parent.settings.work_dir.resolve() / run_id,
            parent.rows,
        )
        _reload(ctx)
        job = gate_trained(ctx, audit_report)
        tracker.set_tags({"ftlineage.decision": job.decision})
        tracker.flush()
    parent.tracker.finish("FINISHED")
    return SweepResult(
        study.study_name, storage, states, best.number if best else None, best.value if best else None, job
    )


def optuna_fixed(trial: Any) -> Any:
    """A trial-like object that replays a finished trial's parameters."""
    import optuna

    return optuna.trial.FixedTrial(trial.params)
