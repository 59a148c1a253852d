"""A sweep of 6 trials killed after 3 resumes and completes; pruned trials show as pruned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

RECIPE = """\
name: sweepy
suite: healthcare_v17
seed: 5
base_model: {{name: {base}, family: llama}}
corpus: [{corpus}]
prompt_template: "### Instruction:\\nExtract as JSON.\\n{{prompt}}\\n### Response:\\n"
training: {{max_steps: 8, save_steps: 4, batch_size: 4, max_seq_len: 160, eval_limit: 8,
           early_stop_patience: 0}}
sweep: {{learning_rate: [0.00001, 1.0], lora_r: [4, 8], metric: drift/overall, startup_trials: 2}}
arena: {{limit: 8}}
audit: {{semantic: false}}
"""


def _sweep(tmp_path, env):
    cmd = [sys.executable, "-m", "ftlineage", "sweep", str(tmp_path / "sweep.yaml"), "--trials", "6"]
    return subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finished(storage):
    if not os.path.exists(storage.removeprefix("sqlite:///")):
        return 0
    from ftlineage.tracking import sqlite_init_lock

    try:
        with sqlite_init_lock(storage):  # never race the sweep creating the study's tables
            study = optuna.load_study(study_name="sweepy-sweep", storage=storage)
    except KeyError:
        return 0
    return len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))


def test_an_interrupted_sweep_resumes_and_completes(tmp_path, capable_base, model_cache):
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp_path / "corpus.jsonl").write_text("".join(src[:150]))
    (tmp_path / "sweep.yaml").write_text(RECIPE.format(base=capable_base, corpus=tmp_path / "corpus.jsonl"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    storage = f"sqlite:///{(tmp_path / 'work' / 'optuna.db').resolve()}"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "FTLINEAGE_WORK_DIR": str(tmp_path / "work"),
        "FTLINEAGE_CACHE_DIR": str(model_cache),
    }
    first = _sweep(tmp_path, env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None and _finished(storage) < 3:
        time.sleep(0.5)
    assert first.poll() is None, first.communicate()[1][-3000:]
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert 3 <= _finished(storage) < 6

    second = _sweep(tmp_path, env)
    out, err = second.communicate(timeout=600)
    assert second.returncode in (0, 4), err[-3000:]
    study = optuna.load_study(study_name="sweepy-sweep", storage=storage)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 6
    assert states.count(TrialState.PRUNED) >= 1, states
    assert states.count(TrialState.RUNNING) == 0
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("sweepy")
    children = client.search_runs([exp.experiment_id], "tags.`ftlineage.trial_number` != ''")
    by_trial = {t.number: t for t in study.trials}
    for run in children:
        trial = by_trial[int(run.data.tags["ftlineage.trial_number"])]
        expected = {TrialState.PRUNED: "pruned", TrialState.COMPLETE: "complete"}.get(trial.state, "failed")
        assert run.data.tags["ftlineage.trial_state"].startswith(expected), (trial.number, trial.state)
        assert run.info.status in ("FINISHED", "FAILED")
    (parent,) = client.search_runs([exp.experiment_id], "tags.`ftlineage.study` = 'sweepy-sweep'")
    best_run = parent.data.tags["ftlineage.best_run_id"]
    assert best_run == study.best_trial.user_attrs["run_id"]
    assert client.get_run(best_run).data.tags["ftlineage.decision"] in ("pass", "blocked")
    assert f"best trial {study.best_trial.number}" in out
