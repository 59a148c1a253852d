"""kill -9 while training, rerun the same command: every checkpoint's trace in the store once, whole.

The killed process kills itself (SIGKILL) at a chosen point (see ``_kill_at.py``); the rerun is the
plain ``ftlineage run`` of the same recipe, which resumes the killed run (issue 37).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from mlflow.entities import Expectation, Feedback
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, TINY_RECIPE

pytestmark = pytest.mark.integration

DRIVER = Path(__file__).with_name("_kill_at.py")
CHECKPOINTS = [0, 4, 8]


def _recipe(tmp_path: Path) -> Path:
    """The tiny recipe, 8 steps saved every 4, no early stop: checkpoints 4 and 8 (and the base at 0)."""
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp_path / "corpus.jsonl").write_text("".join(src[:150]))
    recipe = TINY_RECIPE.format(corpus=tmp_path / "corpus.jsonl")
    edits = {
        "name: tiny": f"name: crash-{uuid.uuid4().hex[:8]}",
        "max_steps: 6": "max_steps: 8",
        "save_steps: 2": "save_steps: 4",
        "eval_limit: 4": "eval_limit: 2\n  early_stop_patience: 0",
    }
    for old, new in edits.items():
        assert old in recipe
        recipe = recipe.replace(old, new)
    path = tmp_path / "tiny.yaml"
    path.write_text(recipe)
    return path


def _run(args: list[str], tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )


def _finite_scores(work: Path, run_id: str, step: int) -> int:
    """Per-case scores a checkpoint kept beside its weights (one feedback assessment each)."""
    path = work / run_id / "checkpoints" / f"checkpoint-{step}" / "ftlineage_cases.json"
    cases = json.loads(path.read_text())["cases"]
    return sum(v is not None and not math.isnan(v) for c in cases for v in c["scores"].values())


@pytest.mark.parametrize(
    "point",
    [
        "next-step",  # the reported loss: the resumed run's next trace took the old one's id
        pytest.param("scored", marks=pytest.mark.slow),  # re-scored: once, and no duplicate model link
        pytest.param("mid-trace", marks=pytest.mark.slow),  # a half-written trace left in the store
    ],
)
def test_a_run_killed_in_training_resumes_with_every_checkpoint_trace_once(tmp_path, model_cache, point):
    recipe = _recipe(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    work = tmp_path / "work"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "FTLINEAGE_WORK_DIR": str(work)}
    env["FTLINEAGE_CACHE_DIR"] = str(model_cache)
    killed = _run([str(DRIVER), point, "4", str(recipe)], tmp_path, env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name(recipe_name(recipe)).experiment_id])
    assert run.info.status == "RUNNING"  # killed: nobody closed it

    again = _run(["-m", "ftlineage", "run", "--recipe", str(recipe)], tmp_path, env)
    assert again.returncode in (0, 4), again.stderr[-3000:]
    assert f"resuming run {run.info.run_id}" in again.stderr
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FINISHED"

    exp = run.info.experiment_id
    traces = client.search_traces(locations=[exp], run_id=run.info.run_id, flush=True)
    names = Counter(t.info.tags["mlflow.traceName"] for t in traces)
    assert names == Counter([f"checkpoint-{s}" for s in CHECKPOINTS] + ["arena"])
    assert client.search_traces(locations=[exp], filter_string="trace.status = 'IN_PROGRESS'") == []
    by_name = {t.info.tags["mlflow.traceName"]: t for t in traces}
    expectations = set()
    for step in CHECKPOINTS:
        trace = by_name[f"checkpoint-{step}"]
        assert str(trace.info.state.value) == "OK"
        assert trace.info.tags["ftlineage.step"] == str(step)
        assert len(trace.data.spans) == len(by_name["checkpoint-0"].data.spans)
        expectations.add(sum(isinstance(a, Expectation) for a in trace.info.assessments))
        if step:  # whole: one feedback per finite case score (none lost with a queue at the kill)
            feedback = sum(isinstance(a, Feedback) for a in trace.info.assessments)
            assert feedback == _finite_scores(work, run.info.run_id, step), step
    assert len(expectations) == 1
    assert expectations.pop() > 0

    # what was scored before the kill is kept, and nothing is logged twice
    for key in ("heldout/field_accuracy", "drift/overall"):
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) == CHECKPOINTS, key
    losses = [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")]
    assert len(losses) == len(set(losses))
    assert max(losses) == 8
    models = client.search_logged_models([exp], filter_string=f"source_run_id = '{run.info.run_id}'")
    assert sorted(m.name for m in models if m.name.startswith("checkpoint-")) == [
        "checkpoint-4",
        "checkpoint-8",
    ]


def recipe_name(path: Path) -> str:
    return next(line.split(": ", 1)[1] for line in path.read_text().splitlines() if line.startswith("name: "))
