"""The gate's baseline: the registered champion on the same suite digest, else the base.

The champion's recorded scores are reused only when they were taken on this suite digest
and on the very same cases; otherwise the champion is re-scored here. With no champion
the base model (already scored before training) is the baseline.
"""

from __future__ import annotations

from ftlineage import tags as T
from ftlineage.errors import SuiteError
from ftlineage.logging import get_logger
from ftlineage.pipeline._context import Baseline, JobContext
from ftlineage.readers import parse_versioned
from ftlineage.scoring import SuiteScores
from ftlineage.suites import retired_hint
from ftlineage.training import evaluate_model

logger = get_logger(__name__)

SCORES_FILE = "scores/candidate.json"


def _recorded(ctx: JobContext, run_id: str) -> SuiteScores | None:
    text = ctx.registry.read_run_file(run_id, SCORES_FILE)
    return parse_versioned(SuiteScores, text, f"run {run_id}: {SCORES_FILE}") if text else None


def _rescore(ctx: JobContext, name: str, version: str, label: str) -> SuiteScores:
    """Score a registered version with its own prompt template on this suite's cases."""
    loaded = ctx.registry.load(name, version)
    metrics, cases = evaluate_model(
        loaded.model,
        loaded.tokenizer,
        ctx.suite,
        loaded.template,
        limit=ctx.recipe.training.eval_limit,
        drift_limit=ctx.recipe.training.drift_limit,
        generator=loaded.generator,
    )
    plan = ctx.suite.plan.model_dump(mode="json", by_alias=True)
    return SuiteScores(
        suite_sha=ctx.suite.sha, model_label=label, metrics=metrics, cases=tuple(cases), plan=plan
    )


def _champion(ctx: JobContext) -> tuple[str, str, str] | None:
    """``(alias, version, run id)`` of the champion, or ``None``."""
    name, alias = ctx.recipe.registry.model_name, ctx.recipe.registry.champion_alias
    version = ctx.registry.aliases(name).get(alias)
    mv = ctx.registry.get_version(name, version) if version else None
    return (alias, mv.version, mv.run_id) if mv else None


def check_champion_suite(ctx: JobContext) -> None:
    """Refuse this suite when the champion was scored on the same name and version with other content."""
    champion = _champion(ctx)
    tags = ctx.registry.run_tags(champion[2]) if champion and champion[2] else None
    if champion is None or tags is None:
        return
    alias, version, _ = champion
    meta = ctx.suite.meta
    same_id = (tags.get(T.SUITE_NAME), tags.get(T.SUITE_VERSION)) == (meta.name, str(meta.version))
    theirs = tags.get(T.SUITE_SHA)
    if same_id and theirs and theirs != ctx.suite.sha:
        name = ctx.recipe.registry.model_name
        raise SuiteError(
            f"{ctx.suite.path}: suite {meta.name} v{meta.version} has digest {ctx.suite.sha[:12]}…, but "
            f"@{alias} ({name!r} v{version}) was scored on {meta.name} v{meta.version} as {theirs[:12]}…; "
            "one name and version is one content: restore the suite, or bump its version"
            + retired_hint(theirs)
        )


def resolve_baseline(ctx: JobContext, base: SuiteScores) -> Baseline:
    """``base`` or ``<alias>:vN`` with its scores on this suite digest and case set."""
    champion = _champion(ctx)
    if champion is None:
        return Baseline("base", base)
    alias, version, run_id = champion
    label = f"{alias}:v{version}"
    recorded = _recorded(ctx, run_id) if run_id else None
    same_cases = recorded is not None and {c.id for c in recorded.cases} == {c.id for c in base.cases}
    if recorded is not None and recorded.suite_sha == ctx.suite.sha and same_cases:
        return Baseline(label, recorded.model_copy(update={"model_label": label}))
    why = "on another suite digest or case set" if recorded is not None else "without recorded scores"
    logger.info("%s was scored %s; re-scoring it on %s", label, why, ctx.suite.sha[:12])
    return Baseline(label, _rescore(ctx, ctx.recipe.registry.model_name, version, label))
