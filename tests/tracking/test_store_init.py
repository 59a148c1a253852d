"""Jobs started at once on a new sqlite store: MLflow's schema creation must not race."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

START = (
    "import sys; from ftlineage.tracking._mlflow import MlflowTracker; "
    "t = MlflowTracker.start(experiment='e', run_name='r', tracking_uri=sys.argv[1]); "
    "t.client.set_terminated(t.run_id)"
)


def test_four_jobs_starting_on_a_new_sqlite_store_all_start(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'new.db'}"
    procs = [
        subprocess.Popen([sys.executable, "-c", START, uri], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0, 0, 0, 0], [err[-500:] for _, err in results]
    exp = MlflowClient(uri).get_experiment_by_name("e")
    assert len(MlflowClient(uri).search_runs([exp.experiment_id])) == 4
