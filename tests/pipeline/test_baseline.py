"""The gate's baseline: @champion on the same suite digest (re-scored if not), else the base."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from ftlineage import suites
from ftlineage.gate.promotion import register
from ftlineage.models import load_model, resolve_base
from ftlineage.pipeline import Baseline, JobContext, new_context
from ftlineage.pipeline._baseline import resolve_baseline
from ftlineage.recipe import load_recipe
from ftlineage.scoring import SuiteScores
from ftlineage.settings import Settings
from ftlineage.tracking import MlflowRegistry
from ftlineage.tracking._mlflow import MlflowTracker
from ftlineage.tracking._registry import log_pyfunc
from ftlineage.training import evaluate_model

pytestmark = pytest.mark.integration


def astuple_shallow(baseline: Baseline) -> tuple:
    return baseline.label, baseline.scores


@pytest.fixture
def setup(tiny_recipe, store, tmp_path):
    recipe = load_recipe(tiny_recipe)
    suite = suites.load(recipe.suite)
    model, tok = load_model(resolve_base(recipe.base_model, Settings.from_env().cache_dir))
    metrics, cases = evaluate_model(
        model, tok, suite, recipe.prompt_template, limit=recipe.training.eval_limit
    )
    base = SuiteScores(suite_sha=suite.sha, model_label="baseline", metrics=metrics, cases=tuple(cases))
    tracker = MlflowTracker.start(experiment="job", run_name="job")
    ctx = new_context(recipe, suite, [], Settings.from_env(), tracker)
    model.save_pretrained(tmp_path / "export")
    tok.save_pretrained(tmp_path / "export")
    return ctx, base, tmp_path


def _champion(ctx: JobContext, tmp_path, recorded: SuiteScores) -> str:
    client = MlflowClient()
    champ = MlflowTracker.start(experiment="champ", run_name="champ")
    (tmp_path / "candidate.json").write_text(recorded.model_dump_json())
    client.log_artifact(champ.run_id, str(tmp_path / "candidate.json"), "scores")
    uri = log_pyfunc(client, champ.run_id, tmp_path / "export", ctx.recipe.prompt_template, 8)
    name = ctx.recipe.registry.model_name
    return register(
        MlflowRegistry(client),
        name=name,
        source=uri,
        run_id=champ.run_id,
        tags={},
        description="",
        alias="champion",
    )


def test_without_a_champion_the_base_is_the_baseline(setup):
    ctx, base, _ = setup
    assert resolve_baseline(ctx, base) == Baseline("base", base)


def test_a_champion_on_the_same_digest_is_reused(setup):
    ctx, base, tmp_path = setup
    recorded = base.model_copy(update={"metrics": {**base.metrics, "heldout/field_accuracy": 0.77}})
    version = _champion(ctx, tmp_path, recorded)
    label, scores = astuple_shallow(resolve_baseline(ctx, base))
    assert label == f"champion:v{version}"
    assert scores.metrics["heldout/field_accuracy"] == 0.77  # the recorded value, not a re-score


def test_a_champion_scored_on_another_digest_is_rescored(setup, capsys):
    ctx, base, tmp_path = setup
    stale = base.model_copy(update={"suite_sha": "0" * 64, "metrics": {"heldout/field_accuracy": 0.77}})
    version = _champion(ctx, tmp_path, stale)
    label, scores = astuple_shallow(resolve_baseline(ctx, base))
    assert label == f"champion:v{version}"
    assert scores.suite_sha == ctx.suite.sha
    assert "re-scoring" in capsys.readouterr().err
    # The champion here *is* the base model, so re-scoring reproduces the base's scores.
    assert scores.metrics["heldout/field_accuracy"] == base.metrics["heldout/field_accuracy"]
    assert [c.id for c in scores.cases] == [c.id for c in base.cases]


def test_a_champion_scored_on_the_same_name_and_version_with_other_content_is_refused(setup):
    from ftlineage.errors import SuiteError
    from ftlineage.pipeline._baseline import check_champion_suite
    from ftlineage.tags import SUITE_NAME as SUITE_NAME_TAG
    from ftlineage.tags import SUITE_VERSION as SUITE_VERSION_TAG

    ctx, base, tmp_path = setup
    version = _champion(ctx, tmp_path, base)
    run_id = MlflowClient().get_model_version(ctx.recipe.registry.model_name, version).run_id
    meta = ctx.suite.meta
    client = MlflowClient()
    client.set_tag(run_id, SUITE_NAME_TAG, meta.name)
    client.set_tag(run_id, SUITE_VERSION_TAG, str(meta.version))
    client.set_tag(run_id, "ftlineage.suite_sha", ctx.suite.sha)
    check_champion_suite(ctx)  # the same content: fine
    client.set_tag(run_id, "ftlineage.suite_sha", "e" * 64)
    with pytest.raises(SuiteError, match=rf"{meta.name} v{meta.version} as eeeeeeeeeeee.*bump its version"):
        check_champion_suite(ctx)
    client.set_tag(run_id, SUITE_VERSION_TAG, str(meta.version - 1))  # another version: re-scored, fine
    check_champion_suite(ctx)
