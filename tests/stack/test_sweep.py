"""``ftlineage sweep --workers N`` on PostgreSQL: the same trials as one worker, none run twice."""

from __future__ import annotations

import os
import subprocess
import sys

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from tests.conftest import ROOT
from tests.integration.test_sweep import RECIPE

pytestmark = [pytest.mark.integration, pytest.mark.stack]

TRIALS = 3


def _sweep(stack, tmp_path, capable_base, model_cache, name: str, workers: int):
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp_path / "corpus.jsonl").write_text("".join(src[:150]))
    recipe = RECIPE.format(base=capable_base, corpus=tmp_path / "corpus.jsonl").replace(
        "name: sweepy", f"name: {name}"
    )
    (tmp_path / f"{name}.yaml").write_text(recipe)
    env = {**os.environ, **stack.client_env(), "FTLINEAGE_SWEEP_STORAGE": stack.database_uri("optuna"),
           "FTLINEAGE_WORK_DIR": str(tmp_path / "work"), "FTLINEAGE_CACHE_DIR": str(model_cache)}  # fmt: skip
    cmd = [sys.executable, "-m", "ftlineage", "sweep", str(tmp_path / f"{name}.yaml"),
           "--trials", str(TRIALS), "--workers", str(workers)]  # fmt: skip
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 4), done.stderr[-3000:]
    assert stack.secrets.pg_password not in done.stdout + done.stderr
    return optuna.load_study(study_name=f"{name}-sweep", storage=stack.database_uri("optuna"))


def _trial_runs(stack, name: str) -> list:
    client = MlflowClient(stack.tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name(name).experiment_id])
    return [r for r in runs if "ftlineage.trial_number" in r.data.tags]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sweep_over_workers_completes_every_trial_once(stack, tmp_path, capable_base, model_cache, workers):
    name = f"sweep-{workers}w"
    study = _sweep(stack, tmp_path, capable_base, model_cache, name, workers)
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(finished) == len(study.trials) == TRIALS, [t.state for t in study.trials]
    assert sorted(t.number for t in study.trials) == list(range(TRIALS))
    runs = _trial_runs(stack, name)
    numbers = sorted(int(r.data.tags["ftlineage.trial_number"]) for r in runs)
    assert numbers == list(range(TRIALS))  # one MLflow run per trial: none ran twice
    assert {t.user_attrs["run_id"] for t in study.trials} == {r.info.run_id for r in runs}
    assert all(r.info.status == "FINISHED" for r in runs)
    (parent,) = [r for r in MlflowClient(stack.tracking_uri).search_runs(
        [runs[0].info.experiment_id]) if "ftlineage.study" in r.data.tags]  # fmt: skip
    assert parent.data.tags["ftlineage.sweep_workers"] == str(workers)
    assert "***" in parent.data.tags["ftlineage.optuna_storage"]
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parent.info.run_id}
