"""A registered version loads with mlflow.pyfunc and answers a transcript with text."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.models import load_model, resolve_base
from ftlineage.recipe import load_recipe
from ftlineage.settings import Settings
from ftlineage.tracking._mlflow import MlflowTracker
from ftlineage.tracking._registry import log_pyfunc, register

pytestmark = pytest.mark.integration


def test_register_sets_tags_card_and_alias_and_loads(tiny_recipe, store, tmp_path):
    import mlflow.pyfunc

    recipe = load_recipe(tiny_recipe)
    model, tok = load_model(resolve_base(recipe.base_model, Settings.from_env().cache_dir))
    model.save_pretrained(tmp_path / "export")
    tok.save_pretrained(tmp_path / "export")
    tracker = MlflowTracker.start(experiment="t", run_name="r")
    client = MlflowClient()
    uri = log_pyfunc(client, tracker.run_id, tmp_path / "export", recipe.prompt_template, 8)
    tags = {"ftlineage.model_sha": "a" * 64}
    version = register(
        client,
        name="hc",
        model_uri=uri,
        run_id=tracker.run_id,
        tags=tags,
        description="# card",
        alias="challenger",
    )
    mv = client.get_model_version_by_alias("hc", "challenger")
    assert str(mv.version) == version
    assert mv.tags["ftlineage.model_sha"] == "a" * 64
    assert mv.description == "# card"
    loaded = mlflow.pyfunc.load_model("models:/hc@challenger")
    out = loaded.predict(["Receptionist: Hello. Caller: Hi, this is Ana Ruiz."])
    assert isinstance(out, list)
    assert len(out) == 1
    assert isinstance(out[0], str)


def test_signed_evidence_is_bound_to_the_registered_version(tiny_recipe, store, tmp_path):
    from ftlineage.gate import GateDecision
    from ftlineage.gate.evidence import evidence_tags, signer, verify

    recipe = load_recipe(tiny_recipe)
    model, tok = load_model(resolve_base(recipe.base_model, Settings.from_env().cache_dir))
    model.save_pretrained(tmp_path / "export")
    tok.save_pretrained(tmp_path / "export")
    tracker = MlflowTracker.start(experiment="t", run_name="r")
    client = MlflowClient()
    uri = log_pyfunc(client, tracker.run_id, tmp_path / "export", recipe.prompt_template, 8)
    decision = GateDecision(decision="pass", stage="gate", checks=(), lineage={})
    key = b"server-side-secret"
    versions = [
        register(
            client,
            name="ev",
            model_uri=uri,
            run_id=tracker.run_id,
            tags=evidence_tags(decision),
            description="card",
            alias="challenger",
            signed_tags=signer(decision, "ev", key),
        )
        for _ in range(2)
    ]
    tags = [client.get_model_version("ev", v).tags for v in versions]
    assert verify(tags[0], "ev", versions[0], key)[0]
    assert not verify(tags[0], "ev", versions[1], key)[0]  # evidence copied to another version
    assert not verify(tags[0], "ev", versions[0], b"another key")[0]
    unsigned = register(
        client,
        name="ev",
        model_uri=uri,
        run_id=tracker.run_id,
        tags=evidence_tags(decision),
        description="card",
        alias="challenger",
    )
    assert (
        "no signed evidence" in verify(client.get_model_version("ev", unsigned).tags, "ev", unsigned, key)[1]
    )
