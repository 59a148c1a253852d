"""Rollback and promotion as the registry and the canary run record them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.canary import Monitor, MonitorPolicy, PairObservation
from ftlineage.canary._serve import RegistryHooks
from ftlineage.tracking import MlflowRegistry, MlflowTracker
from tests.conftest import GUARD_KEY, claim_champion, signed_version

pytestmark = pytest.mark.integration


def _alarmed():
    mon = Monitor(MonitorPolicy(sustain=1))
    obs = PairObservation(
        key="k", outcome="loss", champion={"json_valid": 100.0}, challenger={"json_valid": 0.0}
    )
    while not mon.status.rollback:
        mon.observe(obs)
    return mon.status


def test_rollback_moves_the_alias_tags_the_version_and_logs_the_evidence(any_store):
    client = MlflowClient()
    champion, challenger = signed_version(client, "hc"), signed_version(client, "hc")
    claim_champion(client, "hc", champion)  # the key holder's signed ledger entry (the guarded stack)
    client.set_registered_model_alias("hc", "champion", champion)
    client.set_registered_model_alias("hc", "challenger", challenger)
    tracker = MlflowTracker.start(experiment="canary-hc", run_name="canary")
    hooks = RegistryHooks(MlflowRegistry(client), tracker, "hc", challenger, champion)
    status = _alarmed()
    rubrics = {"champion": {"json_valid": 100.0}, "challenger": {"json_valid": 0.0}}
    pair = {
        "key": "user-1",
        "prompt": "Caller: Hi.",
        "champion": '{"a": 1}',
        "challenger": "oops",
        "outcome": "loss",
        "rubrics": rubrics,
    }
    hooks.record(status, pair)
    hooks.rollback(status)
    tracker.finish("FINISHED")
    mv = client.get_model_version("hc", challenger)
    assert mv.tags["ftlineage.canary"] == "rolled_back"
    assert "win rate" in mv.tags["ftlineage.canary_reason"]
    assert str(client.get_model_version_by_alias("hc", "rolled_back").version) == challenger
    with pytest.raises(Exception, match="alias"):
        client.get_model_version_by_alias("hc", "challenger")
    assert str(client.get_model_version_by_alias("hc", "champion").version) == champion
    run = client.get_run(tracker.run_id)
    assert run.data.tags["ftlineage.canary"] == "rolled_back"
    assert run.data.metrics["canary/pairs"] == status.pairs
    (trace,) = client.search_traces(locations=[run.info.experiment_id], run_id=tracker.run_id, flush=True)
    spans = {s.name: s for s in trace.data.spans if s.parent_id}
    assert set(spans) == {"generate/champion", "generate/challenger", "judge"}
    assert spans["judge"].attributes["ftlineage.case_id"] == "user-1"
    assert spans["judge"].attributes["ftlineage.judge"] == "rubric"
    assert spans["judge"].outputs["outcome"] == "loss"
    evidence = json.loads(Path(client.download_artifacts(tracker.run_id, "canary/rollback.json")).read_text())
    assert evidence["challenger"] == challenger
    assert evidence["status"]["rollback"] is True
    # which kind of request failed: the lost pairs, clustered, in the evidence, the run and the version
    assert evidence["failed_requests"].startswith("canary/json_valid + canary/loss")
    assert run.data.tags["ftlineage.canary_failed_requests"] == evidence["failed_requests"]
    assert mv.tags["ftlineage.canary_failed_requests"] == evidence["failed_requests"]
    feed = json.loads(Path(client.download_artifacts(tracker.run_id, "failures/feed.json")).read_text())
    assert [c["key"] for c in feed["cases"]] == ["canary:user-1"]
    assert feed["clusters"][0]["fix"]["rule"] == "schema-adherence"  # the cause, json_valid, before the stage
    # `ftlineage failures RUN --canary CANARY_RUN` reads the same pairs back from the canary's traces
    from ftlineage.pipeline._failures import mlflow_canary

    _, (alarm,) = mlflow_canary(client, tracker.run_id)
    assert (alarm.key, alarm.prompt, alarm.output, alarm.baseline_output) == (
        "canary:user-1",
        "Caller: Hi.",
        "oops",
        '{"a": 1}',
    )
    assert alarm.checks == ("canary/loss", "canary/json_valid")
    assert alarm.trace_id == trace.info.trace_id


def test_a_stable_challenger_is_promoted_only_with_evidence(guard_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", guard_server)
    monkeypatch.setenv("FTLINEAGE_GATE_KEY", GUARD_KEY)  # the canary promotes as the key holder
    client = MlflowClient(guard_server)
    champion = signed_version(client, "canary-promo")
    good, unsigned = (
        signed_version(client, "canary-promo"),
        signed_version(client, "canary-promo", signed=False),
    )
    claim_champion(client, "canary-promo", champion)
    client.set_registered_model_alias("canary-promo", "champion", champion)
    status = Monitor().status
    tracker = MlflowTracker.start(experiment="canary-promo", run_name="canary")
    RegistryHooks(MlflowRegistry(client), tracker, "canary-promo", unsigned, champion).promote(status)
    assert client.get_run(tracker.run_id).data.tags["ftlineage.canary"] == "promotion_refused"
    RegistryHooks(MlflowRegistry(client), tracker, "canary-promo", good, champion).promote(status)
    assert str(client.get_model_version_by_alias("canary-promo", "champion").version) == good
    tracker.finish("FINISHED")
