"""The tiers stage on a real sqlite store: nested runs, decisions, signed versions, a pyfunc that answers.

The full-precision model is the tiny base taught the first drift cases (drift 1.0), so a
2-bit tier has something to lose and int8 has something to keep.
"""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ftlineage import tags as T

pytestmark = pytest.mark.integration


@pytest.fixture
def tiered(tiny_recipe, store, capable_base):
    from ftlineage import lineage
    from ftlineage.models import load_model
    from ftlineage.pipeline import lifecycle, new_context, prepare, start_run
    from ftlineage.pipeline._context import Trained
    from ftlineage.pipeline._tiers import register_tiers, tiers_stage
    from ftlineage.pipeline._train import prompt_format
    from ftlineage.settings import Settings

    tiny_recipe.write_text(tiny_recipe.read_text() + "tiers: [int8, int2-g16]\n")
    recipe, suite, rows = prepare(tiny_recipe, None)
    settings = Settings.from_env()
    tracker = start_run(recipe, settings, "tiers")
    ctx = new_context(recipe, suite, rows, settings, tracker)
    model, tok = load_model(str(capable_base))
    export = ctx.stage_dir("export")
    model.save_pretrained(export)
    tok.save_pretrained(export)
    ctx.add_lineage(model_sha=lineage.sha256_state_dict(model.state_dict()))
    trained = Trained(str(capable_base), model, tok, None, None, 0, prompt_format=prompt_format(ctx, tok))
    with lifecycle(tracker):
        report = register_tiers(ctx, tiers_stage(ctx, trained))
    return report, tracker.run_id, MlflowClient(store), recipe


def _int8_registers_and_int2_is_blocked_naming_what_it_lost(tiered):
    report, run_id, client, recipe = tiered
    rows = {r.name: r for r in report.rows}
    assert rows["int8"].decision == "pass", rows["int8"].reasons
    assert rows["int2-g16"].decision == "blocked"
    assert any("drift/" in r and "points lost" in r for r in rows["int2-g16"].reasons), rows[
        "int2-g16"
    ].reasons
    assert rows["int8"].fidelity.mean_kl < rows["int2-g16"].fidelity.mean_kl
    assert rows["int8"].size_bytes < 0.6 * report.reference_size_bytes

    name = recipe.registry.model_name
    versions = client.search_model_versions(f"name='{name}'")
    assert [v.tags.get(T.TIER) for v in versions] == ["int8"]  # the blocked tier is never registered
    (mv,) = versions
    assert client.get_model_version_by_alias(name, "challenger-int8").version == mv.version
    assert mv.tags[T.TIER_OF] == run_id
    assert mv.tags[T.CANDIDATE_KIND] == "trained"
    assert mv.tags[T.MODEL_SHA] == rows["int8"].model_sha != report.reference_model_sha
    assert mv.run_id == rows["int8"].run_id


def _each_tier_is_a_nested_run_with_its_decision_in_both_runs(tiered):
    report, run_id, client, _ = tiered
    for row in report.rows:
        child = client.get_run(row.run_id)
        assert child.data.tags["mlflow.parentRunId"] == run_id
        assert child.info.status == "FINISHED"
        assert child.data.tags[T.TIER] == row.name
        assert child.data.params["tier.library"].startswith("torchao==")
        assert "tier/mean_kl" in child.data.metrics
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"gate/tiers/{row.name}/decision.json"
        )
        mine = mlflow.artifacts.download_artifacts(run_id=row.run_id, artifact_path="gate/decision.json")
        with open(local) as a, open(mine) as b:
            parent_copy, own = json.load(a), json.load(b)
        assert parent_copy == own
        assert own["stage"] == "tier"
        assert own["lineage"]["model_sha"] == row.model_sha
    tiers_md = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="gate/tiers/tiers.md")
    with open(tiers_md) as f:
        assert "| int8 |" in f.read()
    assert client.get_run(run_id).data.tags[T.TIERS].startswith("int8=pass:v")


def _the_registered_tier_verifies_and_answers_as_a_pyfunc(tiered):
    from ftlineage.gate import promotion
    from ftlineage.settings import Settings

    report, _, client, recipe = tiered
    name = recipe.registry.model_name
    version = client.get_model_version_by_alias(name, "challenger-int8").version
    from ftlineage.errors import PromotionRefused
    from ftlineage.tracking import MlflowRegistry

    reg = MlflowRegistry(client)
    assert promotion.check_evidence(
        reg, name, version, Settings.from_env().gate_key
    )  # raises unless it verifies
    client.set_model_version_tag(name, version, "ftlineage.decision_sha", "0" * 64)  # tampered evidence
    with pytest.raises(PromotionRefused):
        promotion.check_evidence(reg, name, version, Settings.from_env().gate_key)
    model = mlflow.pyfunc.load_model(f"models:/{name}@challenger-int8")
    inner = model.unwrap_python_model()
    assert type(inner.model.model.layers[0].mlp.up_proj.weight).__name__ == "Int8Tensor"
    (answer,) = model.predict(["Caller: Ann Lee, Friday 3 pm, refund."])
    assert isinstance(answer, str)


def test_tiers_stage(tiered):
    """One tiers stage (about 30 s), checked three ways."""
    _int8_registers_and_int2_is_blocked_naming_what_it_lost(tiered)
    _each_tier_is_a_nested_run_with_its_decision_in_both_runs(tiered)
    _the_registered_tier_verifies_and_answers_as_a_pyfunc(tiered)
