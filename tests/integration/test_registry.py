"""A registered version loads with mlflow.pyfunc and answers a transcript with text."""

from __future__ import annotations

import pytest

from ftlineage.gate.promotion import register
from ftlineage.tracking import MlflowRegistry
from tests.conftest import log_tiny_model

pytestmark = pytest.mark.integration


def test_register_sets_tags_card_and_alias_and_loads(tiny_export, store):
    import mlflow.pyfunc

    client, run_id, uri = log_tiny_model(tiny_export, "t", 8)
    tags = {"ftlineage.model_sha": "a" * 64}
    version = register(
        MlflowRegistry(client),
        name="hc",
        source=uri,
        run_id=run_id,
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


def test_signed_evidence_is_bound_to_the_registered_version(tiny_export, store):
    from ftlineage.gate import GateDecision
    from ftlineage.gate.evidence import evidence_tags, signer, verify
    from ftlineage.gate.promotion import subject_of

    client, run_id, uri = log_tiny_model(tiny_export, "t", 8)
    _, other_run, other_uri = log_tiny_model(tiny_export, "t", 8)
    decision = GateDecision(decision="pass", stage="gate", checks=(), lineage={})
    key = b"server-side-secret"
    versions = [
        register(
            MlflowRegistry(client),
            name="ev",
            source=u,
            run_id=r,
            tags=evidence_tags(decision),
            description="card",
            alias="challenger",
            signed_tags=signer(decision, key),
        )
        for u, r in ((uri, run_id), (other_uri, other_run))
    ]
    subjects = [subject_of(MlflowRegistry(client), "ev", v) for v in versions]
    assert verify(subjects[0][1], subjects[0][0], key)[0]
    assert not verify(subjects[0][1], subjects[1][0], key)[0]  # evidence copied to another version
    assert not verify(subjects[0][1], subjects[0][0], b"another key")[0]
    # registering the same run again is idempotent: the registry, not a run tag, says it is done
    again = register(
        MlflowRegistry(client),
        name="ev",
        source=uri,
        run_id=run_id,
        tags=evidence_tags(decision),
        description="card",
        alias="challenger",
    )
    assert again == versions[0]
    _, third_run, third_uri = log_tiny_model(tiny_export, "t", 8)
    unsigned = register(
        MlflowRegistry(client),
        name="ev",
        source=third_uri,
        run_id=third_run,
        tags=evidence_tags(decision),
        description="card",
        alias="challenger",
    )
    subject, tags = subject_of(MlflowRegistry(client), "ev", unsigned)
    assert "no signed evidence" in verify(tags, subject, key)[1]
