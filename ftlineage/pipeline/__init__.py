"""The main job: recipe → audit → split → train → arena → gate → registry.

Run by ``mlflow run . -P suite=...`` (inside the run MLflow created) or ``ftlineage run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ftlineage import lineage, suites
from ftlineage import tags as T
from ftlineage.arena import available_judges
from ftlineage.audit import AuditReport, scan_text
from ftlineage.data import read_corpus
from ftlineage.errors import EXIT_AUDIT_BLOCKED, EXIT_GATE_BLOCKED, EXIT_OK, RecipeError, SuiteError
from ftlineage.gate import Check, GateDecision
from ftlineage.lazy import lazy_getattr
from ftlineage.models import check_base_model
from ftlineage.pipeline import _candidates, _stages, _story, _tiers
from ftlineage.pipeline._baseline import check_champion_suite
from ftlineage.pipeline._context import Audited, Baseline, JobContext, JobResult, Row, Split, Trained
from ftlineage.pipeline._failures import failures_stage
from ftlineage.pipeline._lifecycle import lifecycle, start_run, timed
from ftlineage.pipeline._outbox import for_job
from ftlineage.pipeline._train import train_stage
from ftlineage.recipe import Recipe, bind_suite, load_recipe
from ftlineage.settings import Settings
from ftlineage.tiers import render_table
from ftlineage.tracking import Tracker, check_server, registry_of

if TYPE_CHECKING:
    from ftlineage.pipeline._candidates import prompt_texts
    from ftlineage.pipeline._in_script import gate_callback, gate_run
    from ftlineage.pipeline._seeds import SeedSpread, train_seeds
    from ftlineage.pipeline._sweep import SweepResult, join_sweep, run_sweep

__all__ = [
    "Audited",
    "Baseline",
    "gate_callback",
    "gate_run",
    "gate_trained",
    "JobContext",
    "JobResult",
    "join_sweep",
    "lifecycle",
    "new_context",
    "prepare",
    "prompt_texts",
    "resolve_recipe",
    "run_job",
    "run_sweep",
    "SeedSpread",
    "Split",
    "start",
    "start_run",
    "SweepResult",
    "timed",
    "train_seeds",
    "Trained",
]

RECIPES_DIR = Path("recipes")


def resolve_recipe(recipe: str | None, suite: str | None) -> Path:
    """The recipe to run: the one given, else ``recipes/<suite>.yaml``."""
    if recipe:
        return Path(recipe)
    if not suite:
        raise RecipeError("nothing to run: pass --suite NAME or --recipe FILE")
    path = RECIPES_DIR / f"{suite}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml")) if RECIPES_DIR.is_dir() else []
        raise SuiteError(
            f"unknown suite {suite!r}: no recipe {path}; known recipes: {', '.join(known) or 'none'}"
            f"; bundled suites: {', '.join(suites.bundled_names())}"
        )
    return path


def _refuse_credentials(recipe_path: Path) -> None:
    """A recipe is uploaded with every run: one that holds a credential is refused, never uploaded."""
    for lineno, line in enumerate(recipe_path.read_text(encoding="utf-8").splitlines(), start=1):
        found = next((f for f in scan_text(line) if f.flag == "secret"), None)
        if found:
            raise RecipeError(
                f"{recipe_path}:{lineno}: looks like a credential ({found.rule}: {found.redacted}); a recipe "
                "is uploaded with the run, so name an environment variable instead (e.g. api_key_env)"
            )


def prepare(
    recipe_path: Path, suite_name: str | None, *, trains: bool = True
) -> tuple[Recipe, suites.Suite, list[Row]]:
    """Validate every input before anything is written to the tracking store.

    ``trains=False``: the caller trains elsewhere (the in-script path), so no corpus is needed.
    A tracking server that does not answer is refused first (MLflow would retry it for minutes).
    """
    check_server()
    recipe = load_recipe(recipe_path)
    if trains and recipe.candidate.kind == "trained" and not recipe.corpus:
        raise RecipeError(
            f"{recipe_path}: a trained candidate needs corpus (the training files); add corpus: [FILE], "
            "or gate a model trained elsewhere with candidate: {kind: model, path: ...}"
        )
    if suite_name and suite_name != recipe.suite:
        raise RecipeError(
            f"{recipe_path}: recipe is for suite {recipe.suite!r} but suite {suite_name!r} was "
            "asked for; pass a matching recipe or drop one of the two"
        )
    _refuse_credentials(recipe_path)
    check_base_model(recipe.base_model, recipe.training, str(recipe_path))
    _candidates.check_candidate(recipe, str(recipe_path))
    if recipe.generation.backend != "hf":
        raise RecipeError(
            f"{recipe_path} (generation.backend): the job scores its own checkpoints in process, so it "
            f"generates with hf; {recipe.generation.backend!r} scores a served or saved model with "
            "`ftlineage score` — set backend: hf here"
        )
    if recipe.arena.judge not in available_judges():
        valid = ", ".join(sorted(available_judges()))
        judge = recipe.arena.judge
        raise RecipeError(f"{recipe_path} (arena.judge): unknown judge {judge!r}; valid judges: {valid}")
    _tiers.check_tiers(recipe, str(recipe_path))
    suite = suites.load(recipe.suite)
    return bind_suite(recipe, suite, str(recipe_path)), suite, read_corpus(recipe.corpus)


def _write_manifest(ctx: JobContext) -> None:
    ctx.write("lineage", "manifest.json", ctx.lineage.model_dump_json(indent=2))


def _blocked(
    ctx: JobContext,
    decision: GateDecision,
    code: int,
    warnings: tuple[str, ...] = (),
    *,
    best_step: int | None = None,
    baseline: str = "base",
) -> JobResult:
    ctx.tracker.set_tags({T.DECISION: "blocked", T.BLOCKED_AT: decision.stage})
    with timed(ctx.tracker, "failures"):
        feed = failures_stage(ctx, best_step, baseline, quiet=False)
    _story.describe(ctx, decision, warnings)
    reasons = tuple(c.reason for c in decision.failed)
    return JobResult(ctx.tracker.run_id, "blocked", code, ctx.out, None, reasons, warnings, feed)


def _audit_block(ctx: JobContext, reasons: tuple[str, ...]) -> JobResult:
    checks = tuple(Check(name="audit", kind="audit", passed=False, reason=r) for r in reasons)
    decision = GateDecision(decision="blocked", stage="audit", checks=checks, lineage=ctx.lineage.digests())
    ctx.write("gate", "decision.json", decision.model_dump_json(indent=2))
    return _blocked(ctx, decision, EXIT_AUDIT_BLOCKED)


def new_context(
    recipe: Recipe, suite: suites.Suite, rows: list[Row], settings: Settings, tracker: Tracker
) -> JobContext:
    """The context of one run: its work folder, its registry and the lineage known before any stage."""
    manifest = lineage.LineageManifest(
        prompt_sha=lineage.sha256_prompt(recipe.prompt_template),
        suite_sha=suite.sha,
        code_sha=lineage.code_sha(),
        recipe_sha=recipe.sha(),
        corpus_sha=lineage.sha256_rows(rows, domain="corpus"),
        seed=recipe.seed,
    )
    out = settings.work_dir.resolve() / tracker.run_id
    return JobContext(recipe, suite, settings, tracker, registry_of(tracker), out, rows, manifest)


def run_job(recipe: str | None, suite: str | None, settings: Settings | None = None) -> JobResult:
    """Run the whole job; returns the result (the run is terminated either way)."""
    settings = settings or Settings.from_env()
    recipe_obj, suite_obj, rows = prepare(resolve_recipe(recipe, suite), suite)
    key = lineage.sha256_json(
        {"recipe": recipe_obj.sha(), "corpus": lineage.sha256_rows(rows, domain="corpus")}, domain="resume"
    )
    tracker = start_run(recipe_obj, settings, f"{recipe_obj.name}-job", resume_key=key)
    ctx = new_context(recipe_obj, suite_obj, rows, settings, tracker)
    with lifecycle(tracker, on_error=lambda exc: _story.describe_error(ctx, exc)):
        return _run_stages(ctx)


def start(ctx: JobContext) -> None:
    """Tag the run with its lineage, suite and registry target; log the recipe as params."""
    import torch

    if not ctx.in_script:  # a user's own script keeps its thread settings
        torch.set_num_threads(ctx.settings.num_threads)
    r = ctx.recipe
    reg = {
        T.REGISTRY_MODEL_NAME: r.registry.model_name,
        T.REGISTRY_ALIAS: r.registry.alias,
        T.REGISTRY_STAGES: str(r.registry.stages),
    }
    ctx.tracker.set_tags(
        ctx.lineage.tags()
        | {T.SUITE: r.suite, T.SEED: str(r.seed), T.CANDIDATE_KIND: r.candidate.kind}
        | {T.SUITE_NAME: ctx.suite.meta.name, T.SUITE_VERSION: str(ctx.suite.meta.version)}
        | reg
    )
    check_champion_suite(ctx)
    # "suite" and "recipe" are the MLproject's own params (logged by `mlflow run`): never reuse.
    trained = r.candidate.kind == "trained"
    prefix = T.PREFIX if ctx.in_script else ""  # a user's run has its own seed, base_model ... params
    params = {
        "recipe_name": r.name,
        "suite_name": r.suite,
        "seed": r.seed,
        "base_model": r.base_model.name,
        "corpus_files": len(r.corpus),
        "candidate.kind": r.candidate.kind,
        **({f"training.{k}": v for k, v in r.training.model_dump().items()} if trained else {}),
        **_candidates.candidate_params(r.candidate),
        "gate.max_regression": r.gate.max_regression,
    }
    ctx.tracker.log_params({prefix + k: v for k, v in params.items()})
    if r.source_path:
        ctx.tracker.log_artifact(r.source_path, "recipe")


def _run_stages(ctx: JobContext) -> JobResult:
    start(ctx)
    for_job(ctx).reconcile()  # a resumed run: what the killed one traced, in the store once and whole
    report = None
    if ctx.recipe.corpus:  # a model/endpoint candidate's training file is audited as for training
        with timed(ctx.tracker, "audit"):
            audited = _stages.audit_stage(ctx)
        if audited.report.verdict == "blocked":
            return _audit_block(ctx, audited.report.reasons)
        report = audited.report
    kind = ctx.recipe.candidate.kind
    if kind != "trained":
        with timed(ctx.tracker, "score"):
            scored = _candidates.score_candidate(ctx)
        return gate_trained(ctx, scored, report)
    with timed(ctx.tracker, "train"):
        split = _stages.split_stage(ctx, audited.kept)
        _story.log_inputs(ctx, split.train)
        trained = train_stage(ctx, split)
    return gate_trained(ctx, trained, report)


def gate_trained(ctx: JobContext, trained: Trained, audit_report: AuditReport | None) -> JobResult:
    """Arena, gate and registry for any candidate (trained here, a model, an endpoint, a prompt)."""
    ctx.tracker.set_tags(ctx.lineage.tags())
    with timed(ctx.tracker, "arena"):
        arena_result = _stages.arena_stage(ctx, trained)
    baseline, decision = _stages.gate_stage(ctx, trained, arena_result)
    _write_manifest(ctx)
    if decision.decision != "pass":
        return _blocked(
            ctx,
            decision,
            EXIT_GATE_BLOCKED,
            arena_result.warnings,
            best_step=trained.best_step,
            baseline=baseline.label,
        )
    tiers = None
    if ctx.recipe.tiers and trained.model is not None:
        with timed(ctx.tracker, "tiers"):
            tiers = _tiers.tiers_stage(ctx, trained)
    prompt = ctx.recipe.candidate.kind == "prompt"
    with timed(ctx.tracker, "register"):
        _stages.package_stage(
            ctx, trained, baseline, decision, arena_result, audit_report, tiers, pyfunc=not prompt
        )
        ctx.tracker.set_tags({T.DECISION: "pass"})
        register = _candidates.register_prompt if prompt else _stages.register_stage
        version = register(ctx) if ctx.recipe.registry.auto_register else None
        if tiers is not None and version is not None:
            tiers = _tiers.register_tiers(ctx, tiers)
    with timed(ctx.tracker, "failures"):
        failures_stage(ctx, trained.best_step, baseline.label, quiet=True)
    _story.describe(ctx, decision, arena_result.warnings, version)
    reasons = tuple(c.reason for c in decision.checks)
    table = render_table(tiers) if tiers is not None else ""
    return JobResult(
        ctx.tracker.run_id, "pass", EXIT_OK, ctx.out, version, reasons, arena_result.warnings, tiers=table
    )


_LAZY = {
    "run_sweep": ("_sweep", "run_sweep"),
    "join_sweep": ("_sweep", "join_sweep"),
    "train_seeds": ("_seeds", "train_seeds"),
    "gate_run": ("_in_script", "gate_run"),
    "gate_callback": ("_in_script", "gate_callback"),
    "prompt_texts": ("_candidates", "prompt_texts"),
    "SweepResult": ("_sweep", "SweepResult"),
    "SeedSpread": ("_seeds", "SeedSpread"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)
