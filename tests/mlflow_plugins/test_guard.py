"""The registry guard on a real ``mlflow server --app-name ftlineage-guard`` subprocess."""

from __future__ import annotations

import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ftlineage.gate.evidence import HMAC_TAG
from mlflow_plugins.guard import check_request
from tests.conftest import PASS, signed_version

pytestmark = pytest.mark.integration


def test_valid_evidence_may_become_champion(guard_server):
    client = MlflowClient(guard_server)
    v = signed_version(client, "g-valid")
    client.set_registered_model_alias("g-valid", "champion", v)
    assert client.get_model_version_by_alias("g-valid", "champion").version == v


@pytest.mark.parametrize("case", ["forged", "copied", "missing", "blocked"])
def test_bad_evidence_is_refused_through_the_client(guard_server, case):
    client = MlflowClient(guard_server)
    name = f"g-{case}"
    if case == "forged":
        v = signed_version(client, name)
        client.set_model_version_tag(name, v, HMAC_TAG, "f" * 64)
    elif case == "copied":
        donor = signed_version(client, name)
        v = signed_version(client, name, signed=False)
        client.set_model_version_tag(name, v, HMAC_TAG, client.get_model_version(name, donor).tags[HMAC_TAG])
    elif case == "missing":
        v = signed_version(client, name, signed=False)
    else:
        v = signed_version(client, name, decision=PASS.model_copy(update={"decision": "blocked"}))
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
    assert client.transition_model_version_stage(name, good, "Production").current_stage == "Production"


def test_a_server_without_a_key_fails_closed(monkeypatch):
    monkeypatch.delenv("FTLINEAGE_GATE_KEY", raising=False)
    body = {"name": "m", "alias": "Champion", "version": "1"}
    assert "no FTLINEAGE_GATE_KEY" in check_request("/api/2.0/mlflow/registered-models/alias", "POST", body)
    assert check_request("/api/2.0/mlflow/registered-models/alias", "POST", {**body, "alias": "dev"}) is None
    assert check_request("/api/2.0/mlflow/registered-models/get", "POST", body) is None
