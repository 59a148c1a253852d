"""The main job on a tiny recipe: real HF Trainer + PEFT, real sqlite MLflow store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.pipeline import run_job

pytestmark = pytest.mark.integration

SHA_TAGS = ("prompt_sha", "dataset_sha", "base_model_sha", "model_sha", "suite_sha", "code_sha")


def test_run_finishes_with_every_lineage_sha(tiny_run):
    result, client = tiny_run
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    for key in SHA_TAGS:
        assert re.fullmatch(r"[0-9a-f]{64}", run.data.tags[f"ftlineage.{key}"]), key
    assert run.data.tags["ftlineage.decision"] == result.decision


def test_every_checkpoint_is_scored_with_its_step(tiny_run):
    result, client = tiny_run
    history = client.get_metric_history(result.run_id, "heldout/field_accuracy")
    assert sorted(m.step for m in history) == [0, 2, 4, 6]  # base at 0, three checkpoints
    for family in ("arithmetic", "format", "multi_turn", "refusal", "domain_adjacent"):
        steps = [m.step for m in client.get_metric_history(result.run_id, f"drift/{family}")]
        assert sorted(steps) == [0, 2, 4, 6], family


def test_stage_artifacts_are_logged(tiny_run):
    result, client = tiny_run
    paths = {
        a.path
        for d in ("audit", "arena", "gate", "plots", "lineage", "scores")
        for a in client.list_artifacts(result.run_id, d)
    }
    assert {
        "audit/audit.json",
        "audit/report.md",
        "arena/arena.json",
        "gate/decision.json",
        "plots/checkpoints.png",
        "lineage/manifest.json",
        "scores/baseline.json",
        "scores/candidate.json",
    } <= paths
    # checkpoints are never uploaded wholesale
    assert not client.list_artifacts(result.run_id, "checkpoints")


def test_every_arena_judgement_is_a_span_carrying_the_lineage_shas(tiny_run):
    result, client = tiny_run
    exp = client.get_run(result.run_id).info.experiment_id
    traces = client.search_traces(locations=[exp], run_id=result.run_id, flush=True)
    (trace,) = [t for t in traces if t.info.tags.get("ftlineage.judge") == "rubric"]
    children = [s for s in trace.data.spans if s.parent_id]
    arena_json = json.loads(Path(client.download_artifacts(result.run_id, "arena/arena.json")).read_text())
    assert len(children) == arena_json["judge_calls"] + arena_json["cache_hits"] == arena_json["n"]
    run_tags = client.get_run(result.run_id).data.tags
    for span in children:
        assert span.attributes["ftlineage.prompt_sha"] == run_tags["ftlineage.prompt_sha"]
        assert span.attributes["pick"] in ("first", "second", "tie", "unscored")


def test_registered_version_exists_exactly_when_the_gate_passes(tiny_run):
    result, client = tiny_run
    versions = client.search_model_versions("name='healthcare-postcall'")
    if result.decision == "pass":
        assert [v.version for v in versions] == [result.version]
    else:
        assert versions == []
        assert result.exit_code == 4


def test_base_model_can_be_any_hf_model_path(tmp_path, tiny_recipe, store):
    """`base_model.name` takes a local HF model folder (as it would a hub id when online)."""
    from ftlineage.models import load_model, resolve_base
    from ftlineage.recipe import load_recipe
    from ftlineage.settings import Settings

    recipe = load_recipe(tiny_recipe)
    model, tok = load_model(resolve_base(recipe.base_model, Settings.from_env().cache_dir))
    model.save_pretrained(tmp_path / "my-base")
    tok.save_pretrained(tmp_path / "my-base")
    text = tiny_recipe.read_text().replace("name: builtin:tiny-llama", f"name: {tmp_path / 'my-base'}")
    text = text.replace("  family: llama\n", "")  # undeclared: read from the model config
    assert "family:" not in text
    path = tmp_path / "hf.yaml"
    path.write_text(text)
    result = run_job(str(path), None)
    run = MlflowClient(store).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["base_model"] == str(tmp_path / "my-base")
    assert sorted(
        m.step for m in MlflowClient(store).get_metric_history(result.run_id, "heldout/json_valid")
    ) == [0, 2, 4, 6]
    arena_json = Path(MlflowClient(store).download_artifacts(result.run_id, "arena/arena.json")).read_text()
    assert json.loads(arena_json)["candidate_family"] == "llama"


def test_checkpoint_scoring_is_traced_and_searchable_by_prompt_sha(tiny_run):
    result, client = tiny_run
    run = client.get_run(result.run_id)
    prompt_sha = run.data.tags["ftlineage.prompt_sha"]
    traces = client.search_traces(
        locations=[run.info.experiment_id],
        filter_string=f"tags.`ftlineage.prompt_sha` = '{prompt_sha}'",
        flush=True,
    )
    names = sorted(t.info.tags.get("mlflow.traceName", "") for t in traces)
    assert {"checkpoint-0", "checkpoint-2", "checkpoint-4", "checkpoint-6", "arena"} <= set(names)
    ckpt = next(t for t in traces if t.info.tags.get("mlflow.traceName") == "checkpoint-4")
    cases = [
        s
        for s in ckpt.data.spans
        if s.attributes.get("ftlineage.case_id") and s.name not in ("generate", "score")
    ]
    assert len(cases) == 12  # eval_limit 4: 4 held-out + 8 drift cases
    for span in ckpt.data.spans:
        if span.parent_id:
            assert span.attributes["ftlineage.prompt_sha"] == prompt_sha
            assert span.attributes["ftlineage.dataset_sha"] == run.data.tags["ftlineage.dataset_sha"]
            assert span.attributes["ftlineage.suite_sha"] == run.data.tags["ftlineage.suite_sha"]
            assert len(span.attributes["ftlineage.model_sha"]) == 64
            assert span.attributes["ftlineage.rubric_version"]
    kinds = {s.name for s in ckpt.data.spans}
    assert {"generate", "score"} <= kinds
