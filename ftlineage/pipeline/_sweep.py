"""``ftlineage sweep``: an Optuna study over the recipe, pruned on held-out scores, then gated.

The study lives in an RDB storage (sqlite by default, PostgreSQL with ``--storage``), so a
killed sweep resumes where it stopped: Optuna's heartbeats find the trials it left RUNNING,
``fail_stale_trials`` marks them FAIL (their MLflow runs FAILED) and only the missing trials run.
Each trial is a nested MLflow run under one sweep run; the callback reports every
checkpoint's held-out score to the trial and the median pruner stops trials that track
below the others. The best trial goes on to the arena, the gate and the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage import lineage
from ftlineage import tags as T
from ftlineage.errors import AuditBlocked
from ftlineage.logging import get_logger
from ftlineage.models import PromptFormat, load_model, read_format, resolve_base
from ftlineage.pipeline import _sweep_workers as _workers
from ftlineage.pipeline import gate_trained, new_context, prepare, start
from ftlineage.pipeline._context import JobContext, JobResult, Row, Trained
from ftlineage.pipeline._lifecycle import lifecycle, start_run
from ftlineage.pipeline._sinks import OptunaSink
from ftlineage.pipeline._stages import audit_rows, audit_stage, split_stage
from ftlineage.pipeline._train import train_stage
from ftlineage.readers import parse_versioned
from ftlineage.recipe import Recipe
from ftlineage.scoring import SuiteScores
from ftlineage.settings import Settings
from ftlineage.tracking import MlflowRegistry, redact_url, sqlite_init_lock

logger = get_logger(__name__)


@dataclass(frozen=True)
class SweepResult:
    """How the study ended, and the gate's result for its best trial (``None``: none completed)."""

    study_name: str
    storage: str  # redacted: a password in the URL shows as ***
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

    def __init__(self, parent: JobContext, kept: list[Row]) -> None:
        self.parent, self.kept = parent, kept

    def __call__(self, trial: Any) -> float:
        import optuna

        p = self.parent
        recipe = _trial_recipe(p.recipe, trial)
        tracker = start_run(recipe, p.settings, f"trial-{trial.number}", parent_run_id=p.tracker.run_id)
        trial.set_user_attr("run_id", tracker.run_id)
        tracker.set_tags({T.TRIAL_NUMBER: str(trial.number), T.TRIAL_STATE: "running"})
        sink = OptunaSink(trial, recipe.sweep.metric)
        with lifecycle(tracker, on_error=lambda _: tracker.set_tags({T.TRIAL_STATE: "failed"})):
            ctx = new_context(recipe, p.suite, p.rows, p.settings, tracker)
            start(ctx)
            trained = train_stage(ctx, split_stage(ctx, self.kept), sinks=[sink])
            state = "pruned" if sink.pruned_at is not None else "complete"
            tracker.set_tags({T.TRIAL_STATE: state, **ctx.lineage.tags()})
        if sink.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned at step {sink.pruned_at}")
        value = trained.candidate.metrics.get(recipe.sweep.metric, 0.0)
        return 0.0 if value != value else float(value)


def _on_stale(registry_uri: str) -> Callable[[Any, Any], None]:
    """Optuna's stale-trial callback: the trial's run is marked FAILED (interrupted)."""

    def mark_failed(study: Any, trial: Any) -> None:
        run_id = trial.user_attrs.get("run_id")
        client = MlflowRegistry.connect(registry_uri).client
        if run_id and client.get_run(run_id).info.status == "RUNNING":
            client.set_tag(run_id, T.TRIAL_STATE, "failed (interrupted)")
            client.set_terminated(run_id, "FAILED")
        logger.info("trial %d was interrupted (no heartbeat): marked FAIL", trial.number)

    return mark_failed


def _storage(url: str, registry_uri: str) -> Any:
    """Optuna's RDB storage with heartbeats: a killed sweep's RUNNING trials become FAIL on resume."""
    import warnings

    import optuna

    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since 2.9; we rely on them
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
            failed_trial_callback=_on_stale(registry_uri),
        )


def _fail_stale(study: Any) -> None:
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


HEARTBEAT_S = 2
GRACE_S = 6


def _reload(ctx: JobContext) -> Trained:
    """A trained trial's outputs, from its run folder and its run's lineage tags."""
    model, tok = load_model(str(ctx.out / "export"))
    scores = {}
    for label in ("baseline", "candidate"):
        path = ctx.out / "scores" / f"{label}.json"
        scores[label] = parse_versioned(SuiteScores, path.read_text("utf-8"), str(path))
    tags = ctx.registry.run_tags(ctx.tracker.run_id) or {}
    ctx.add_lineage(**T.lineage_of(tags, strip=True))
    return Trained(
        base_ref=resolve_base(ctx.recipe.base_model, ctx.settings.cache_dir, progress=False),
        model=model,
        tokenizer=tok,
        baseline=scores["baseline"],
        candidate=scores["candidate"],
        best_step=int(tags.get(T.BEST_STEP, "0")),
        prompt_format=read_format(ctx.out / "export") or PromptFormat(ctx.recipe.prompt_template),
    )


def _study(url: str, name: str, recipe: Recipe, registry_uri: str, *, create: bool) -> Any:
    import optuna

    pruner = optuna.pruners.MedianPruner(n_startup_trials=recipe.sweep.startup_trials, n_warmup_steps=0)
    with sqlite_init_lock(url):  # a new sqlite study's tables are created by one process at a time
        make = optuna.create_study if create else optuna.load_study
        kwargs = {"direction": "maximize", "load_if_exists": True} if create else {}
        study = make(
            study_name=name,
            storage=_storage(url, registry_uri),
            sampler=optuna.samplers.TPESampler(seed=recipe.seed),
            pruner=pruner,
            **kwargs,
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return study


def run_sweep(
    recipe_path: Path,
    trials: int,
    storage: str | None,
    study_name: str | None,
    settings: Settings | None = None,
    *,
    workers: int = 1,
) -> SweepResult:
    """Run (or resume) the study to ``trials`` finished trials over ``workers`` processes, then gate the best.

    The sweep's run and each trial's share one lifecycle: an exception anywhere leaves them
    FAILED with the error tagged, never RUNNING or FINISHED.
    """
    _need_optuna()
    settings = settings or Settings.from_env()
    recipe, suite, rows = prepare(recipe_path, None)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{(settings.work_dir / 'optuna.db').resolve()}"
    name = study_name or f"{recipe.name}-sweep"
    key = lineage.sha256_json({"study": name, "storage": url}, domain="sweep")
    parent = start_run(recipe, settings, name, resume_key=key)
    ctx = new_context(recipe, suite, rows, settings, parent)
    with lifecycle(parent):
        study = _study(url, name, recipe, ctx.registry.uri, create=True)
        study.set_user_attr(_workers.PARENT_ATTR, parent.run_id)
        start(ctx)
        parent.set_tags({T.STUDY: name, T.OPTUNA_STORAGE: redact_url(url), T.SWEEP_WORKERS: str(workers)})
        _fail_stale(study)
        audited = audit_stage(ctx)
        if audited.report.verdict == "blocked":
            raise AuditBlocked("the data audit blocked the sweep: " + "; ".join(audited.report.reasons))
        counts = _workers.shares(_workers.remaining(study, trials, count_running=False), workers)
        procs = _workers.spawn(recipe_path, url, name, counts[1:])
        try:
            study.optimize(_Objective(ctx, audited.kept), n_trials=counts[0], catch=())
        finally:
            _workers.wait_all(procs)
        _fail_stale(study)
        return _finish(study, ctx, audited.report, url)


def join_sweep(
    recipe_path: Path, trials: int, storage: str, study_name: str | None, share: int | None = None
) -> int:
    """Run trials of a study another process owns (``share`` of them, or what is left); the count run.

    Trials nest under the owner's sweep run; this process audits the corpus itself (the same
    pure function, so the same rows) and gates nothing: the owner gates the best trial.
    """
    import torch

    _need_optuna()
    settings = Settings.from_env()
    torch.set_num_threads(settings.num_threads)
    recipe, suite, rows = prepare(recipe_path, None)
    name = study_name or f"{recipe.name}-sweep"
    from ftlineage.tracking import MlflowTracker

    registry = MlflowRegistry.connect(None)
    study = _study(storage, name, recipe, registry.uri, create=False)
    tracker = MlflowTracker(registry.client, _workers.parent_run_id(study), resumed=True)
    ctx = new_context(recipe, suite, rows, settings, tracker)
    kept = _kept_rows(ctx)
    n = share if share is not None else _workers.remaining(study, trials, count_running=True)
    study.optimize(_Objective(ctx, kept), n_trials=n, catch=())
    return n


def _kept_rows(ctx: JobContext) -> list[Row]:
    """The rows the audit keeps, computed here without logging (the owner logged the audit)."""
    result, kept = audit_rows(ctx, progress=False)
    if result.report.verdict == "blocked":
        raise AuditBlocked("the data audit blocked the sweep: " + "; ".join(result.report.reasons))
    return kept


def _need_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        from ftlineage.errors import missing_dependency

        raise missing_dependency("optuna", "ftlineage sweep") from None


def _finish(study: Any, parent: JobContext, audit_report: Any, storage: str) -> SweepResult:
    from optuna.trial import TrialState

    from ftlineage.tracking import MlflowTracker

    states = {s.name.lower(): len(study.get_trials(deepcopy=False, states=(s,))) for s in TrialState}
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    parent.tracker.log_metrics({f"sweep/{k}": float(v) for k, v in states.items()}, step=0)
    job = None
    best = study.best_trial if complete else None
    if best is not None:
        run_id = best.user_attrs["run_id"]
        parent.tracker.set_tags({T.BEST_TRIAL: str(best.number), T.BEST_RUN_ID: run_id})
        tracker = MlflowTracker(MlflowRegistry.connect(parent.registry.uri).client, run_id, resumed=True)
        recipe = _trial_recipe(parent.recipe, optuna_fixed(best))
        ctx = new_context(recipe, parent.suite, parent.rows, parent.settings, tracker)
        job = gate_trained(ctx, _reload(ctx), audit_report)
        tracker.set_tags({T.DECISION: job.decision})
        tracker.flush()
    return SweepResult(
        study.study_name,
        redact_url(storage),
        states,
        best.number if best else None,
        best.value if best else None,
        job,
    )


def optuna_fixed(trial: Any) -> Any:
    """A trial-like object that replays a finished trial's parameters."""
    import optuna

    return optuna.trial.FixedTrial(trial.params)
