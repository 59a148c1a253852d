"""The main job: recipe → audit → split → train → arena → gate → registry.

Run by ``mlflow run . -P suite=...`` (inside the run MLflow created) or ``ftlineage run``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ftlineage import lineage, suites
from ftlineage.arena import available_judges
from ftlineage.audit import AuditReport
from ftlineage.data import read_corpus
from ftlineage.errors import EXIT_AUDIT_BLOCKED, EXIT_GATE_BLOCKED, EXIT_OK, RecipeError, SuiteError
from ftlineage.gate.rule import Check, GateDecision
from ftlineage.models import check_base_model
from ftlineage.pipeline import _stages, _story
from ftlineage.pipeline._baseline import SUITE_NAME_TAG, SUITE_VERSION_TAG, check_champion_suite
from ftlineage.pipeline._context import JobContext, JobResult
from ftlineage.pipeline._trackers import job_tracker
from ftlineage.pipeline._train import train_stage
from ftlineage.recipe import Recipe, bind_suite, load_recipe
from ftlineage.settings import Settings

__all__ = ["JobResult", "resolve_recipe", "run_job"]

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
    from ftlineage.audit import scan_text

    for lineno, line in enumerate(recipe_path.read_text(encoding="utf-8").splitlines(), start=1):
        found = next((f for f in scan_text(line) if f.flag == "secret"), None)
        if found:
            raise RecipeError(
                f"{recipe_path}:{lineno}: looks like a credential ({found.rule}: {found.redacted}); a recipe "
                "is uploaded with the run, so name an environment variable instead (e.g. api_key_env)"
            )


def _prepare(recipe_path: Path, suite_name: str | None) -> tuple[Recipe, suites.Suite, list[dict]]:
    """Validate every input before anything is written to the tracking store."""
    recipe = load_recipe(recipe_path)
    if suite_name and suite_name != recipe.suite:
        raise RecipeError(
            f"{recipe_path}: recipe is for suite {recipe.suite!r} but suite {suite_name!r} was "
            "asked for; pass a matching recipe or drop one of the two"
        )
    _refuse_credentials(recipe_path)
    check_base_model(recipe.base_model, recipe.training, str(recipe_path))
    if recipe.arena.judge not in available_judges():
        valid = ", ".join(sorted(available_judges()))
        judge = recipe.arena.judge
        raise RecipeError(f"{recipe_path} (arena.judge): unknown judge {judge!r}; valid judges: {valid}")
    suite = suites.load(recipe.suite)
    return bind_suite(recipe, suite, str(recipe_path)), suite, read_corpus(recipe.corpus)


def _write_manifest(ctx: JobContext) -> None:
    manifest = lineage.LineageManifest.model_validate({**ctx.lineage, "seed": ctx.recipe.seed})
    ctx.write("lineage", "manifest.json", manifest.model_dump_json(indent=2))


def _blocked(ctx: JobContext, decision: GateDecision, code: int, warnings: tuple[str, ...] = ()) -> JobResult:
    ctx.tracker.set_tags({"ftlineage.decision": "blocked", "ftlineage.blocked_at": decision.stage})
    _story.describe(ctx, decision, warnings)
    reasons = tuple(c.reason for c in decision.failed)
    return JobResult(ctx.tracker.run_id, "blocked", code, ctx.out, None, reasons, warnings)


def _audit_block(ctx: JobContext, reasons: tuple[str, ...]) -> JobResult:
    checks = tuple(Check(name="audit", kind="audit", passed=False, reason=r) for r in reasons)
    decision = GateDecision(decision="blocked", stage="audit", checks=checks, lineage=dict(ctx.lineage))
    ctx.write("gate", "decision.json", decision.model_dump_json(indent=2))
    return _blocked(ctx, decision, EXIT_AUDIT_BLOCKED)


def run_job(recipe: str | None, suite: str | None) -> JobResult:
    """Run the whole job; returns the result (the run is terminated either way)."""
    settings = Settings.from_env()
    recipe_obj, suite_obj, rows = _prepare(resolve_recipe(recipe, suite), suite)
    tracker = job_tracker(recipe_obj, rows, settings)
    ctx = JobContext(recipe_obj, suite_obj, settings, tracker,
                     settings.work_dir.resolve() / tracker.run_id, rows)
    try:
        result = _run_stages(ctx)
    except BaseException as exc:
        tracker.set_tags({"ftlineage.decision": "error", "ftlineage.error": str(exc)[:500]})
        _story.describe_error(ctx, exc)
        tracker.finish("FAILED")
        raise
    tracker.finish("FINISHED")
    return result


def _start(ctx: JobContext) -> None:
    import torch

    torch.set_num_threads(ctx.settings.num_threads)
    r = ctx.recipe
    ctx.lineage.update(
        prompt_sha=lineage.sha256_prompt(r.prompt_template),
        suite_sha=ctx.suite.sha,
        code_sha=lineage.code_sha(),
        recipe_sha=r.sha(),
        corpus_sha=lineage.sha256_rows(ctx.rows, domain="corpus"),
    )
    reg = {f"ftlineage.registry.{k}": str(getattr(r.registry, k)) for k in ("model_name", "alias", "stages")}
    ctx.tracker.set_tags(
        lineage.lineage_tags(ctx.lineage)
        | {"ftlineage.suite": r.suite, "ftlineage.seed": str(r.seed)}
        | {SUITE_NAME_TAG: ctx.suite.meta.name, SUITE_VERSION_TAG: str(ctx.suite.meta.version)}
        | reg
    )
    check_champion_suite(ctx)
    # "suite" and "recipe" are the MLproject's own params (logged by `mlflow run`): never reuse.
    ctx.tracker.log_params(
        {
            "recipe_name": r.name,
            "suite_name": r.suite,
            "seed": r.seed,
            "base_model": r.base_model.name,
            "corpus_files": len(r.corpus),
            **{f"training.{k}": v for k, v in r.training.model_dump().items()},
            "gate.max_regression": r.gate.max_regression,
        }
    )
    if r.source_path:
        ctx.tracker.log_artifact(r.source_path, "recipe")


@contextmanager
def _timed(ctx: JobContext, stage: str) -> Iterator[None]:
    """Tag the stage's wall time as ``ftlineage.time.<stage>_s`` and say it on stderr."""
    print(f"ftlineage: {stage} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    ctx.tracker.set_tags({f"ftlineage.time.{stage}_s": f"{seconds:.1f}"})
    print(f"ftlineage: {stage} done in {seconds:.1f}s", file=sys.stderr, flush=True)


def _run_stages(ctx: JobContext) -> JobResult:
    _start(ctx)
    with _timed(ctx, "audit"):
        audit_report = _stages.audit_stage(ctx)
    if audit_report.verdict == "blocked":
        return _audit_block(ctx, audit_report.reasons)
    with _timed(ctx, "train"):
        train = _stages.split_stage(ctx)
        _story.log_inputs(ctx, train)
        train_stage(ctx, train)
    return gate_trained(ctx, audit_report)


def gate_trained(ctx: JobContext, audit_report: AuditReport) -> JobResult:
    """Arena, gate and registry for a context whose model is trained (``ctx.results`` filled)."""
    ctx.tracker.set_tags(
        lineage.lineage_tags({k: ctx.lineage[k] for k in ("dataset_sha", "base_model_sha", "model_sha")})
    )
    with _timed(ctx, "arena"):
        arena_result = _stages.arena_stage(ctx)
    decision = _stages.gate_stage(ctx, arena_result)
    _write_manifest(ctx)
    if decision.decision != "pass":
        return _blocked(ctx, decision, EXIT_GATE_BLOCKED, arena_result.warnings)
    with _timed(ctx, "register"):
        _stages.package_stage(ctx, decision, arena_result, audit_report)
        ctx.tracker.set_tags({"ftlineage.decision": "pass"})
        version = _stages.register_stage(ctx) if ctx.recipe.registry.auto_register else None
    _story.describe(ctx, decision, arena_result.warnings, version)
    reasons = tuple(c.reason for c in decision.checks)
    return JobResult(ctx.tracker.run_id, "pass", EXIT_OK, ctx.out, version, reasons, arena_result.warnings)
