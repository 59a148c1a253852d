"""The registry guard on a real ``mlflow server --app-name ftlineage-guard`` subprocess."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ftlineage.gate.evidence import DECISION_TAG, HMAC_TAG
from mlflow_plugins._guard_state import GuardState
from mlflow_plugins.guard import CHECKS, _policy
from tests.conftest import PASS, claim_champion, signed_version

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("runs_uri", [False, True], ids=["artifact-uri", "runs-uri"])
def test_valid_evidence_may_become_champion(guard_server, runs_uri):
    """The guard reads the version's files itself, whatever form its source takes."""
    client = MlflowClient(guard_server)
    name = f"g-valid-{'runs' if runs_uri else 'uri'}"
    v = signed_version(client, name, runs_uri=runs_uri)
    with pytest.raises(MlflowException, match="ledger"):  # evidence alone: not through the ledger
        client.set_registered_model_alias(name, "champion", v)
    claim_champion(client, name, v)
    client.set_registered_model_alias(name, "champion", v)
    assert client.get_model_version_by_alias(name, "champion").version == v


def test_production_cannot_be_rolled_back_to_older_signed_content_without_the_key(guard_server):
    """Pointing @champion or Production back at an older signed version needs a new signed ledger entry."""
    client = MlflowClient(guard_server)
    name = "g-rollback"
    old, new = signed_version(client, name), signed_version(client, name)
    for v in (old, new):
        claim_champion(client, name, v)
        client.set_registered_model_alias(name, "champion", v)
    with pytest.raises(MlflowException, match="ledger"):
        client.set_registered_model_alias(name, "champion", old)
    with pytest.raises(MlflowException, match="ledger"):
        client.transition_model_version_stage(name, old, "Production")
    assert client.get_model_version_by_alias(name, "champion").version == new
    claim_champion(client, name, old)  # the key holder may roll back: a signed ledger entry first
    client.set_registered_model_alias(name, "champion", old)
    assert client.get_model_version_by_alias(name, "champion").version == old


def _bad_version(client: MlflowClient, name: str, case: str) -> str:
    """A version whose evidence is bad in the way ``case`` names."""
    if case == "forged":
        v = signed_version(client, name)
        client.set_model_version_tag(name, v, HMAC_TAG, "f" * 64)
    elif case == "copied":
        donor = signed_version(client, name)
        v = signed_version(client, name, signed=False)
        client.set_model_version_tag(name, v, HMAC_TAG, client.get_model_version(name, donor).tags[HMAC_TAG])
    elif case == "missing":
        v = signed_version(client, name, signed=False)
    elif case == "relabelled":  # a blocked decision, signed, whose verdict tag is flipped to pass
        v = signed_version(client, name, decision=PASS.model_copy(update={"decision": "blocked"}))
        client.set_model_version_tag(name, v, DECISION_TAG, "pass")
    else:
        v = signed_version(client, name, decision=PASS.model_copy(update={"decision": "blocked"}))
    return v


BAD = ["forged", "copied", "relabelled", "missing", "blocked"]


@pytest.mark.parametrize("case", BAD)
def test_bad_evidence_is_refused_through_the_client(guard_server, case):
    client = MlflowClient(guard_server)
    name = f"g-{case}"
    v = _bad_version(client, name, case)
    with pytest.raises(MlflowException, match="ftlineage-guard") as err:
        client.set_registered_model_alias(name, "champion", v)
    assert err.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, "champion")


@pytest.mark.parametrize("prefix", ["api", "ajax-api"])
def test_raw_rest_and_ui_paths_are_guarded(guard_server, prefix):
    client = MlflowClient(guard_server)
    name = f"g-rest-{prefix}"
    bad, good = signed_version(client, name, signed=False), signed_version(client, name)
    url = f"{guard_server}/{prefix}/2.0/mlflow/registered-models/alias"
    refused = requests.post(url, json={"name": name, "alias": "champion", "version": bad}, timeout=10)
    assert refused.status_code == 403
    assert "no signed evidence" in refused.json()["message"]
    for case in ("forged", "copied", "relabelled"):
        v = _bad_version(client, f"{name}-{case}", case)
        body = {"name": f"{name}-{case}", "alias": "champion", "version": v}
        answer = requests.post(url, json=body, timeout=10)
        assert answer.status_code == 403, (case, answer.text)
        assert answer.json()["error_code"] == "PERMISSION_DENIED"
    claim_champion(client, name, good)
    ok = requests.post(url, json={"name": name, "alias": "champion", "version": good}, timeout=10)
    assert ok.status_code == 200, ok.text
    # Unprotected aliases pass untouched, signed or not.
    assert requests.post(url, json={"name": name, "alias": "challenger", "version": bad}, timeout=10).ok


def test_production_stage_needs_evidence_and_staging_does_not(guard_server):
    client = MlflowClient(guard_server)
    name = "g-stage"
    bad, good = signed_version(client, name, signed=False), signed_version(client, name)
    client.transition_model_version_stage(name, bad, "Staging")
    with pytest.raises(MlflowException, match="refused"):
        client.transition_model_version_stage(name, bad, "Production")
    url = f"{guard_server}/ajax-api/2.0/mlflow/model-versions/transition-stage"
    body = {"name": name, "version": bad, "stage": "production", "archive_existing_versions": False}
    assert requests.post(url, json=body, timeout=10).status_code == 403
    claim_champion(client, name, good)
    assert client.transition_model_version_stage(name, good, "Production").current_stage == "Production"


def test_a_server_without_a_key_fails_closed(monkeypatch):
    from mlflow.protos.model_registry_pb2 import SetRegisteredModelAlias

    monkeypatch.delenv("FTLINEAGE_GATE_KEY", raising=False)
    state = GuardState(None, None, lambda uri, dst: dst, _policy())  # no store is read before the key check
    check = CHECKS["SetRegisteredModelAlias"]
    for alias in ("Champion", " champion", "ＣＨＡＭＰＩＯＮ"):
        body = SetRegisteredModelAlias(name="m", alias=alias, version="1")
        assert "no FTLINEAGE_GATE_KEY" in (check(state, body) or "")
    assert check(state, SetRegisteredModelAlias(name="m", alias="dev", version="1")) is None


def test_recreating_a_name_over_other_weights_does_not_inherit_evidence(guard_server):
    """Delete-and-recreate: same name, same version number, the donor's signed tags, evil source."""
    client = MlflowClient(guard_server)
    name = "g-recreate"
    signed_version(client, name, signed=False)
    v2 = signed_version(client, name)
    assert v2 == "2"
    donor = client.get_model_version(name, v2)
    tags = dict(donor.tags)
    client.delete_registered_model(name)  # allowed: nothing protected points at it yet
    signed_version(client, name, signed=False)
    evil_info = client.create_run(client.get_experiment_by_name("guard").experiment_id).info
    evil_run = evil_info.run_id
    evil_source = f"{evil_info.artifact_uri}/evil-weights"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "EVIL_WEIGHTS.txt").write_text("evil", encoding="utf-8")
        client.log_artifacts(evil_run, tmp, "evil-weights")
    evil = str(client.create_model_version(name, evil_source, evil_run, tags=tags).version)
    assert evil == "2"
    with pytest.raises(MlflowException, match="does not verify") as err:
        client.set_registered_model_alias(name, "champion", evil)
    assert err.value.error_code == "PERMISSION_DENIED"
    # the donor's own run and source, but at another version number: still refused
    again = str(client.create_model_version(name, donor.source, donor.run_id, tags=tags).version)
    with pytest.raises(MlflowException, match="does not verify"):
        client.set_registered_model_alias(name, "champion", again)


@pytest.mark.parametrize("prefix", ["api", "ajax-api"])
def test_what_production_serves_cannot_be_renamed_or_deleted_away(guard_server, prefix):
    client = MlflowClient(guard_server)
    name = f"g-hold-{prefix}"
    v = signed_version(client, name)
    claim_champion(client, name, v)
    client.set_registered_model_alias(name, "champion", v)
    base = f"{guard_server}/{prefix}/2.0/mlflow"
    calls = [
        ("post", "registered-models/rename", {"name": name, "new_name": f"{name}-moved"}),
        ("delete", "registered-models/delete", {"name": name}),
        ("delete", "model-versions/delete", {"name": name, "version": v}),
        ("delete", "registered-models/alias", {"name": name, "alias": "champion"}),
        ("delete", "registered-models/alias", {"name": name, "alias": "CHAMPION"}),
    ]
    for method, path, body in calls:
        resp = getattr(requests, method)(f"{base}/{path}", json=body, timeout=10)
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["error_code"] == "PERMISSION_DENIED"
    with pytest.raises(MlflowException, match="refused"):
        client.delete_registered_model_alias(name, "champion")
    assert client.get_model_version_by_alias(name, "champion").version == v
    # an unprotected alias and a version nothing protected points at stay free to change
    spare = signed_version(client, name, signed=False)
    client.set_registered_model_alias(name, "challenger", spare)
    client.delete_registered_model_alias(name, "challenger")
    client.delete_model_version(name, spare)


def test_a_double_encoded_or_odd_body_is_answered_on_purpose(guard_server):
    import json

    client = MlflowClient(guard_server)
    name = "g-double"
    bad, good = signed_version(client, name, signed=False), signed_version(client, name)
    url = f"{guard_server}/api/2.0/mlflow/registered-models/alias"
    headers = {"Content-Type": "application/json"}

    def post(payload: str) -> requests.Response:
        return requests.post(url, data=payload, headers=headers, timeout=10)

    twice = post(json.dumps(json.dumps({"name": name, "alias": "champion", "version": bad})))
    assert twice.status_code == 403, twice.text
    assert "no signed evidence" in twice.json()["message"]
    claim_champion(client, name, good)
    good_body = json.dumps(json.dumps({"name": name, "alias": "champion", "version": good}))
    assert post(good_body).status_code == 200
    for odd in ('"not json inside"', "[1, 2]", json.dumps(json.dumps([1]))):
        resp = post(odd)
        assert resp.status_code == 400, (odd, resp.text)
        assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get_model_version_by_alias(name, "champion").version == good


@pytest.mark.parametrize(
    "template",
    ["Q: {{input}}\nA:", [{"role": "system", "content": "S"}, {"role": "user", "content": "{{input}}"}]],
)
def test_a_signed_prompt_may_become_champion_and_a_bare_one_may_not(guard_server, template):
    import json

    from ftlineage.gate.evidence import evidence_tags, signer
    from ftlineage.gate.promotion import register
    from ftlineage.tracking._prompts import PromptRegistry
    from tests.conftest import GUARD_KEY

    client = MlflowClient(guard_server)
    name = f"g-prompt-{'text' if isinstance(template, str) else 'chat'}"
    exp = client.get_experiment_by_name("guard") or client.get_experiment(client.create_experiment("guard"))
    run = client.create_run(exp.experiment_id)
    source = template if isinstance(template, str) else json.dumps(template, sort_keys=True)
    v = register(
        PromptRegistry(client),
        name=name,
        source=source,
        run_id=run.info.run_id,
        tags=evidence_tags(PASS),
        description="gate pass",
        alias="challenger",
        signed_tags=signer(PASS, GUARD_KEY.encode()),
    )
    claim_champion(client, name, v)
    client.set_prompt_alias(name, "champion", int(v))
    assert str(client.get_prompt_version_by_alias(name, "champion").version) == v
    bare = client.register_prompt(name=name, template="bare {{input}}")
    with pytest.raises(MlflowException, match="ftlineage-guard"):
        client.set_prompt_alias(name, "champion", bare.version)
    assert str(client.get_prompt_version_by_alias(name, "champion").version) == v
