"""Each candidate kind through the one gate, on a real sqlite store and a real loopback endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from tests.candidates.conftest import write_recipe

pytestmark = pytest.mark.integration

REPORTS = ("scores/baseline.json", "scores/candidate.json", "arena/arena.json", "gate/decision.json")


@pytest.fixture(scope="module")
def servers(cities):
    """Loopback OpenAI-compatible servers over the taught model and over the tiny base."""
    procs, urls = [], {}
    for label, folder in (("taught", cities.taught), ("base", cities.base)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ftlineage.models._serve", str(folder), "0"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "FTLINEAGE_NUM_THREADS": "1"},
        )
        assert proc.stdout is not None
        urls[label] = proc.stdout.readline().strip()
        procs.append(proc)
    yield urls
    for proc in procs:
        proc.kill()
        proc.wait()


def _run(path: Path):
    from ftlineage.pipeline import run_job

    return run_job(str(path), None)


def _endpoint(url: str, model: Path, extra: str = "") -> str:
    return f"candidate:\n  kind: endpoint\n  base_url: {url}\n  model: {model}\n{extra}"


def test_a_model_folder_trained_elsewhere_passes_with_the_reports_of_a_trained_run(cities, store, tmp_path):
    result = _run(
        write_recipe(tmp_path, cities, f"candidate: {{kind: model, path: {cities.taught}}}\n", corpus=True)
    )
    assert result.decision == "pass", result.reasons
    for name in (*REPORTS, "gate/model_card.md", "audit/audit.json"):
        assert (result.out_dir / name).is_file(), name
    client = MlflowClient(store)
    mv = client.get_model_version("cities", result.version)
    assert mv.tags[T.CANDIDATE_KIND] == "model"
    run = client.get_run(result.run_id)
    assert run.data.params["candidate.kind"] == "model"
    assert not any(k.startswith("training.") for k in run.data.params)  # nothing trained, nothing claimed
    assert mv.tags[T.MODEL_SHA] == run.data.tags[T.MODEL_SHA] != run.data.tags["ftlineage.base_model_sha"]
    assert "A model trained elsewhere" in mv.description


def test_the_base_itself_as_a_model_candidate_is_blocked(cities, store, tmp_path):
    result = _run(write_recipe(tmp_path, cities, f"candidate: {{kind: model, path: {cities.base}}}\n"))
    assert result.decision == "blocked"
    assert any("arena" in r for r in result.reasons), result.reasons
    assert not MlflowClient(store).search_model_versions("name='cities'")
    decision = json.loads((result.out_dir / "gate/decision.json").read_text())
    assert decision["stage"] == "gate"


def test_an_endpoint_candidate_registers_a_pyfunc_that_answers_through_the_endpoint(
    cities, servers, store, tmp_path, monkeypatch
):
    secret = "sk-live-" + os.urandom(12).hex()
    monkeypatch.setenv("CITIES_KEY", secret)
    extra = "  api_key_env: CITIES_KEY\n"
    result = _run(write_recipe(tmp_path, cities, _endpoint(servers["taught"], cities.taught, extra)))
    assert result.decision == "pass", result.reasons
    client = MlflowClient(store)
    mv = client.get_model_version("cities", result.version)
    assert mv.tags[T.CANDIDATE_KIND] == "endpoint"
    run = client.get_run(result.run_id)
    assert run.data.tags[f"{T.ENDPOINT_MODEL}.candidate"] == str(cities.taught)
    model = mlflow.pyfunc.load_model("models:/cities@challenger")
    from ftlineage import suites

    cases = suites.load(str(cities.suite)).heldout[:4]
    answers = model.predict([c.input_text for c in cases])
    limit = suites.load(str(cities.suite)).max_new_tokens("heldout")
    direct = _complete(servers["taught"], cities.taught, [c.input_text for c in cases], limit)
    assert answers == direct  # the registered version is the endpoint, asked the same way
    local = Path(mlflow.artifacts.download_artifacts(f"models:/cities/{result.version}"))
    assert not list(local.rglob("*.safetensors"))  # no weights: the endpoint answers
    _assert_nowhere(secret, client, result)


def _complete(url: str, model: Path, texts: list[str], limit: int) -> list[str]:
    from ftlineage.models import OpenAIGenerator
    from tests.candidates.conftest import TEMPLATE

    gen = OpenAIGenerator(url, str(model), None, api="chat")
    return gen.generate([TEMPLATE.replace("{prompt}", t) for t in texts], max_new_tokens=limit)[0]


def _assert_nowhere(secret: str, client: MlflowClient, result) -> None:
    """The key is in no param, tag, metric name, artifact, trace, registry tag or work file."""
    run = client.get_run(result.run_id)
    blobs = [json.dumps(run.data.params), json.dumps(run.data.tags), json.dumps(list(run.data.metrics))]
    root = Path(mlflow.artifacts.download_artifacts(run_id=result.run_id, artifact_path=""))
    files = [p for p in root.rglob("*") if p.is_file()] + [
        p for p in result.out_dir.rglob("*") if p.is_file()
    ]
    blobs += [p.read_bytes().decode("utf-8", "replace") for p in files]
    blobs += [
        json.dumps(t.to_dict(), default=str)
        for t in mlflow.search_traces(
            locations=[run.info.experiment_id], run_id=result.run_id, return_type="list"
        )
    ]
    for mv in client.search_model_versions("name='cities'"):
        blobs += [json.dumps(mv.tags), mv.description or "", mv.source]
    assert len(files) > 10
    assert any(p.name == "judgements.jsonl" for p in files)
    assert not [b[:80] for b in blobs if secret in b]


def test_an_endpoint_serving_the_base_is_blocked_by_the_arena(cities, servers, store, tmp_path):
    result = _run(write_recipe(tmp_path, cities, _endpoint(servers["base"], cities.base)))
    assert result.decision == "blocked"
    assert any(r.startswith("arena") for r in result.reasons), result.reasons
    assert not MlflowClient(store).search_model_versions("name='cities'")


def test_an_endpoint_baseline_is_another_endpoint(cities, servers, store, tmp_path):
    baseline = f"  baseline: {{base_url: {servers['base']}, model: {cities.base}}}\n"
    result = _run(write_recipe(tmp_path, cities, _endpoint(servers["taught"], cities.taught, baseline)))
    assert result.decision == "pass", result.reasons
    tags = MlflowClient(store).get_run(result.run_id).data.tags
    assert tags[f"{T.ENDPOINT_MODEL}.baseline"] == str(cities.base)


def test_a_mistyped_served_model_is_refused_before_any_run(cities, servers, store, tmp_path):
    from ftlineage.errors import BadInputError

    with pytest.raises(BadInputError, match="does not serve model 'nope'.*serves"):
        _run(write_recipe(tmp_path, cities, _endpoint(servers["taught"], Path("nope"))))
    assert not MlflowClient(store).search_experiments(filter_string="name = 'cities'")


def test_status_lists_the_champion_and_flags_an_endpoint_the_provider_retires(
    cities, store, tmp_path, capsys
):
    from ftlineage.cli import main

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ftlineage.models._serve",
            str(cities.taught),
            "0",
            "--shutdown-date",
            "2026-01-31",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "FTLINEAGE_NUM_THREADS": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        result = _run(write_recipe(tmp_path, cities, _endpoint(url, cities.taught)))
    finally:
        proc.kill()
        proc.wait()
    assert result.decision == "pass", result.reasons
    assert main(["promote", "--to", "champion", "--model", "cities"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cities (model)")]
    assert "champion v1" in line
    assert "challenger v1" in line
    assert "kind endpoint" in line
    assert "last decision pass" in line
    assert "RETIRED 2026-01-31" in line


def test_a_prompt_change_asked_of_an_endpoint(cities, servers, store, tmp_path):
    (tmp_path / "proposed.txt").write_text("Tell me: {{input}} ->")  # not the prompt the model was taught
    extra = (
        "candidate:\n  kind: prompt\n  prompt: proposed.txt\n"
        f"  base_url: {servers['taught']}\n  model: {cities.taught}\n"
    )
    result = _run(write_recipe(tmp_path, cities, extra))
    assert result.decision == "blocked"
    assert any("exact_match" in r for r in result.reasons), result.reasons
    tags = MlflowClient(store).get_run(result.run_id).data.tags
    assert tags[T.CANDIDATE_KIND] == "prompt"
    assert tags[f"{T.ENDPOINT_MODEL}.candidate"] == str(cities.taught)
    assert MlflowClient(store).search_prompts() == []
