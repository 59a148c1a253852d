"""Faults under a running job: PostgreSQL restarts while the job logs metrics."""

from __future__ import annotations

import time

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.stack import restart_database
from tests.stack.test_job import only_run, stack_job

pytestmark = [pytest.mark.integration, pytest.mark.stack]

LONGER = {"max_steps: 6": "max_steps: 16", "save_steps: 2": "save_steps: 4",
          "eval_limit: 4": "eval_limit: 2\n  early_stop_patience: 0"}  # fmt: skip
STEPS = [0, 4, 8, 12, 16]


def _steps(client: MlflowClient, run_id: str, key: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def test_a_database_restart_mid_training_loses_no_metric_step(stack, tmp_path, model_cache):
    """The job either finishes with every step, or fails cleanly: never FINISHED with a gap."""
    job = stack_job(stack, tmp_path, model_cache, "stack-fault", LONGER)
    client = MlflowClient(stack.tracking_uri)
    deadline, run_id = time.monotonic() + 300, None
    while time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.5)
        exp = client.get_experiment_by_name("stack-fault")
        runs = client.search_runs([exp.experiment_id]) if exp else []
        if runs and any(s >= 4 for s in _steps(client, runs[0].info.run_id, "heldout/field_accuracy")):
            run_id = runs[0].info.run_id
            break
    assert run_id, f"the job never reached step 4: {job.communicate()[1][-2000:]}"
    log = stack.root / "server.log"
    seen = log.stat().st_size
    pid_before = (stack.pg_root / "data" / "postmaster.pid").read_text().split()[0]
    restart_database(stack, down_s=3.0)  # every pooled connection dies; requests meanwhile fail
    assert (stack.pg_root / "data" / "postmaster.pid").read_text().split()[0] != pid_before
    _, err = job.communicate(timeout=600)
    run = only_run(client, "stack-fault")
    if job.returncode in (0, 4):
        assert run.info.status == "FINISHED", err[-2000:]
        for key in ("heldout/field_accuracy", "drift/overall", "safety/over_refusal_rate"):
            assert _steps(client, run_id, key) == STEPS, key
        losses = _steps(client, run_id, "train/loss")
        assert len(losses) == len(set(losses))
        assert losses[-1] == 16
        assert "ftlineage.decision" in run.data.tags
    else:  # a clean failure: the run says so and why, and nothing was registered from it
        assert run.info.status == "FAILED", err[-2000:]
        assert "ftlineage.error" in run.data.tags
    assert not client.search_model_versions(f"run_id = '{run_id}'")  # the tiny job is blocked
    with log.open("rb") as f:
        f.seek(seen)
        during = f.read().decode("utf-8", "replace")
    failed = during.count(" 500 ") + during.count("OperationalError")
    print(f"fault outcome: exit {job.returncode}, run {run.info.status}, server errors {failed}")
