"""``ftlineage run --engine ray``: checkpoint scoring and arena generation as Ray tasks, same results."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.pipeline import run_job
from tests.conftest import ROOT, TINY_RECIPE

pytestmark = pytest.mark.integration


def _history(client: MlflowClient, run_id: str) -> dict[str, list[tuple[int, float]]]:
    run = client.get_run(run_id)
    keys = [k for k in run.data.metrics if k.startswith(("heldout/", "drift/", "safety/", "arena/"))]
    return {k: sorted((m.step, m.value) for m in client.get_metric_history(run_id, k)) for k in keys}


def test_the_ray_engine_scores_and_judges_exactly_as_in_process(tiny_run, tmp_path, monkeypatch):
    local, local_client = tiny_run
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp_path / "corpus.jsonl").write_text("".join(src[:150]))
    (tmp_path / "tiny.yaml").write_text(TINY_RECIPE.format(corpus=tmp_path / "corpus.jsonl"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("FTLINEAGE_ENGINE", "ray")
    on_ray = run_job(str(tmp_path / "tiny.yaml"), None)
    expected, got = _history(local_client, local.run_id), _history(MlflowClient(uri), on_ray.run_id)
    assert any(k.startswith("heldout/") for k in got)
    assert got == expected
    assert (on_ray.decision, on_ray.reasons) == (local.decision, local.reasons)
    def arena(folder):  # the second run finds the first's verdicts in the shared cache: not compared
        report = json.loads((folder / "arena" / "arena.json").read_text())
        return {k: v for k, v in report.items() if k not in ("cache_hits", "judge_calls")}

    assert arena(tmp_path / "work" / on_ray.run_id) == arena(local.out_dir)
