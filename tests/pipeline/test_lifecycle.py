"""One run lifecycle: the job, the sweep and the seeds leave no run RUNNING or FINISHED after a crash."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from ftlineage.pipeline import _seeds, _sweep

pytestmark = pytest.mark.integration


class Boom(RuntimeError):
    pass


def _explode(*args, **kwargs):
    raise Boom("the trainer crashed (planted)")


def _runs(recipe_name: str):
    client = MlflowClient()
    exp = client.get_experiment_by_name(recipe_name)
    return client.search_runs([exp.experiment_id])


def test_seeds_fail_their_parent_and_child_runs_on_a_crash(tiny_recipe, store, monkeypatch):
    monkeypatch.setattr(_seeds, "train_stage", _explode)
    with pytest.raises(Boom):
        _seeds.train_seeds(tiny_recipe, 2)
    runs = _runs("tiny")
    assert len(runs) == 2  # the parent and the first seed; the second never started
    assert {r.info.status for r in runs} == {"FAILED"}
    assert all("planted" in r.data.tags[T.ERROR] for r in runs)
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert parent.data.tags[T.DECISION] == "error"


def test_a_sweep_fails_its_parent_and_trial_runs_on_a_crash(tiny_recipe, store, tmp_path, monkeypatch):
    pytest.importorskip("optuna")
    monkeypatch.setattr(_sweep, "train_stage", _explode)
    with pytest.raises(Boom):
        _sweep.run_sweep(tiny_recipe, 2, None, None)
    runs = _runs("tiny")
    assert len(runs) == 2  # the sweep and its first trial
    assert {r.info.status for r in runs} == {"FAILED"}
    trial = next(r for r in runs if "mlflow.parentRunId" in r.data.tags)
    assert trial.data.tags[T.TRIAL_STATE] == "failed"
    import optuna

    study = optuna.load_study(study_name="tiny-sweep", storage=f"sqlite:///{tmp_path / 'work' / 'optuna.db'}")
    assert [t.state.name for t in study.trials] == ["FAIL"]
