"""kill -9 in the middle of training, rerun the same command: same run, every step exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, SERVERS, TINY_RECIPE

pytestmark = pytest.mark.integration


def _job(tmp_path, env):
    return subprocess.Popen(
        [sys.executable, "-m", "ftlineage", "run", "--recipe", str(tmp_path / "tiny.yaml")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(params=SERVERS)
def backend(request, tmp_path) -> tuple[str, dict[str, str]]:
    """Where the job logs: a sqlite file, or the stack's guarded server (PostgreSQL + S3)."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        return uri, {"MLFLOW_TRACKING_URI": uri}
    stack = request.getfixturevalue("stack")
    return stack.tracking_uri, stack.client_env()


def _setup(
    tmp_path, model_cache, edits: dict[str, str], backend: tuple[str, dict[str, str]] | None = None
) -> tuple[str, dict[str, str], str]:
    """The tiny recipe on a 150-row corpus, edited: the store URI, the job's environment, its experiment."""
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp_path / "corpus.jsonl").write_text("".join(src[:150]))
    recipe = TINY_RECIPE.format(corpus=tmp_path / "corpus.jsonl")
    for old, new in edits.items():
        assert old in recipe
        recipe = recipe.replace(old, new)
    experiment = f"tiny-{uuid.uuid4().hex[:8]}"
    (tmp_path / "tiny.yaml").write_text(recipe.replace("name: tiny", f"name: {experiment}"))
    uri, store_env = backend or (f"sqlite:///{tmp_path / 'mlflow.db'}", {})
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        **store_env,
        "FTLINEAGE_WORK_DIR": str(tmp_path / "work"),
        "FTLINEAGE_CACHE_DIR": str(model_cache),
    }
    return uri, env, experiment


def _steps(client, run_id, key):
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def test_a_killed_run_resumes_into_the_same_run_without_duplicate_or_missing_steps(
    tmp_path, model_cache, backend
):
    uri, env, experiment = _setup(
        tmp_path,
        model_cache,
        {"max_steps: 6": "max_steps: 24", "save_steps: 2": "save_steps: 4",
         "eval_limit: 4": "eval_limit: 2\n  early_stop_patience: 0"},
        backend,
    )
    proc = _job(tmp_path, env)
    client = MlflowClient(uri)
    deadline = time.monotonic() + 240
    run_id = None
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        exp = client.get_experiment_by_name(experiment)
        runs = client.search_runs([exp.experiment_id]) if exp else []
        if runs and any(s >= 8 for s in _steps(client, runs[0].info.run_id, "heldout/field_accuracy")):
            run_id = runs[0].info.run_id
            break
    assert run_id, f"the job never reached step 8: {proc.communicate()[1][-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert client.get_run(run_id).info.status == "RUNNING"  # killed: nobody closed it
    assert _steps(client, run_id, "heldout/field_accuracy")[-1] < 24

    again = _job(tmp_path, env)
    _, err = again.communicate(timeout=600)
    assert again.returncode in (0, 4), err[-3000:]
    assert f"resuming run {run_id}" in err
    (run,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert run.info.run_id == run_id
    assert run.info.status == "FINISHED"
    expected = [0, 4, 8, 12, 16, 20, 24]
    for key in ("heldout/field_accuracy", "drift/overall", "drift/arithmetic", "safety/over_refusal_rate"):
        assert _steps(client, run_id, key) == expected, key
    losses = _steps(client, run_id, "train/loss")
    assert len(losses) == len(set(losses))
    assert losses[-1] == 24


def test_a_run_killed_in_the_arena_resumes_without_training_again(tmp_path, model_cache):
    uri, env, experiment = _setup(tmp_path, model_cache, {"arena: {limit: 12}": "arena: {limit: 60}"})
    proc = _job(tmp_path, env)
    for line in proc.stderr:  # kill the moment the arena starts
        if line.startswith("ftlineage: arena ..."):
            os.kill(proc.pid, signal.SIGKILL)
            break
    assert proc.wait(timeout=300) == -signal.SIGKILL, "the job ended before its arena"
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert run.info.status == "RUNNING"
    assert "ftlineage.decision" not in run.data.tags  # killed before the gate
    before = {k: _steps(client, run.info.run_id, k) for k in ("train/loss", "heldout/field_accuracy")}

    again = _job(tmp_path, env)
    _, err = again.communicate(timeout=600)
    assert again.returncode in (0, 4), err[-3000:]
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FINISHED"
    assert {k: _steps(client, run.info.run_id, k) for k in before} == before  # not one step more
    assert max(before["heldout/field_accuracy"]) == 6
    assert "ftlineage.training_stopped" not in run.data.tags
    folder = tmp_path / "work" / run.info.run_id / "checkpoints"
    checkpoints = sorted(p.name for p in folder.glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
