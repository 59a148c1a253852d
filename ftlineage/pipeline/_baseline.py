"""The gate's baseline: the registered ``@champion`` on the same suite digest, else the base.

The champion's recorded scores are reused only when they were taken on this suite digest
and on the very same cases; otherwise the champion is re-scored here. With no champion
the base model (already scored before training) is the baseline.
"""

from __future__ import annotations

import sys
from typing import Any

from ftlineage._userfile import parse_versioned
from ftlineage.pipeline._context import JobContext
from ftlineage.scoring import SuiteScores


def _recorded(client: Any, run_id: str) -> SuiteScores | None:
    from ftlineage.tracking._mlflow import read_artifact_text

    text = read_artifact_text(client, run_id, "scores/candidate.json")
    return parse_versioned(SuiteScores, text, f"run {run_id}: scores/candidate.json") if text else None


def _rescore(ctx: JobContext, model_uri: str) -> SuiteScores:
    """Score a registered version with its own prompt template on this suite's cases."""
    import mlflow.pyfunc

    from ftlineage.training import evaluate_model

    inner = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    metrics, cases = evaluate_model(
        inner.model, inner.tokenizer, ctx.suite, inner.template, limit=ctx.recipe.training.eval_limit
    )
    plan = ctx.suite.plan.model_dump(mode="json", by_alias=True)
    return SuiteScores(
        suite_sha=ctx.suite.sha, model_label="champion", metrics=metrics, cases=tuple(cases), plan=plan
    )


SUITE_NAME_TAG = "ftlineage.suite_name"
SUITE_VERSION_TAG = "ftlineage.suite_version"


def check_champion_suite(ctx: JobContext) -> None:
    """Refuse this suite when the champion was scored on the same name and version with other content."""
    from ftlineage.errors import SuiteError
    from ftlineage.suites import retired_hint
    from ftlineage.tracking._promote import current_version

    client = ctx.tracker.client  # type: ignore[attr-defined]
    name, alias = ctx.recipe.registry.model_name, ctx.recipe.registry.champion_alias
    version = current_version(client, name, alias)
    run_id = client.get_model_version(name, version).run_id if version else None
    if not run_id:
        return
    tags = client.get_run(run_id).data.tags
    meta = ctx.suite.meta
    same_id = (tags.get(SUITE_NAME_TAG), tags.get(SUITE_VERSION_TAG)) == (meta.name, str(meta.version))
    theirs = tags.get("ftlineage.suite_sha")
    if same_id and theirs and theirs != ctx.suite.sha:
        raise SuiteError(
            f"{ctx.suite.path}: suite {meta.name} v{meta.version} has digest {ctx.suite.sha[:12]}…, but "
            f"@{alias} ({name!r} v{version}) was scored on {meta.name} v{meta.version} as {theirs[:12]}…; "
            "one name and version is one content: restore the suite, or bump its version"
            + retired_hint(theirs)
        )


def resolve_baseline(ctx: JobContext, base: SuiteScores) -> tuple[str, SuiteScores]:
    """``("base", base)`` or ``("champion:vN", scores)`` on this suite digest and case set."""
    from ftlineage.tracking._promote import current_version

    client = ctx.tracker.client  # type: ignore[attr-defined]
    name, alias = ctx.recipe.registry.model_name, ctx.recipe.registry.champion_alias
    version = current_version(client, name, alias)
    if version is None:
        return "base", base
    mv = client.get_model_version(name, version)
    label = f"{alias}:v{version}"
    recorded = _recorded(client, mv.run_id) if mv.run_id else None
    same_cases = recorded is not None and {c.id for c in recorded.cases} == {c.id for c in base.cases}
    if recorded is not None and recorded.suite_sha == ctx.suite.sha and same_cases:
        return label, recorded.model_copy(update={"model_label": label})
    why = "on another suite digest or case set" if recorded is not None else "without recorded scores"
    print(f"ftlineage: {label} was scored {why}; re-scoring it on {ctx.suite.sha[:12]}", file=sys.stderr)
    return label, _rescore(ctx, f"models:/{name}/{version}").model_copy(update={"model_label": label})
