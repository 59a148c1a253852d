"""The failure feed of a real tiny job: logged by the job, read back by `ftlineage failures`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftlineage.failures import FailureFeed
from ftlineage.readers import parse_versioned
from ftlineage.scoring import SuiteScores
from ftlineage.tasks import case_failures, plan_of
from tests.integration.test_cli import _cli

pytestmark = pytest.mark.integration


def _artifact(client, run_id, path):
    return Path(client.download_artifacts(run_id, path)).read_text()


def test_the_job_logs_a_feed_of_every_failed_case_linked_to_its_trace(tiny_run):
    result, client = tiny_run
    feed = parse_versioned(FailureFeed, _artifact(client, result.run_id, "failures/feed.json"), "feed.json")
    cand = SuiteScores.model_validate_json(_artifact(client, result.run_id, "scores/candidate.json"))
    base = {
        c.id: c
        for c in SuiteScores.model_validate_json(
            _artifact(client, result.run_id, "scores/baseline.json")
        ).cases
    }
    plan = plan_of(cand.plan)
    failing = {c.id for c in cand.cases if case_failures(plan, c)}
    scored = {c.id: c for c in feed.cases if c.stage == "score"}
    assert set(scored) == failing
    for case in scored.values():  # a flip passed on the base model
        assert (case.kind == "flip") == (not case_failures(plan, base[case.id]))
    run = client.get_run(result.run_id)
    traces = client.search_traces(locations=[run.info.experiment_id], run_id=result.run_id, flush=True)
    names = {t.info.tags.get("mlflow.traceName"): t.info.trace_id for t in traces}
    best = run.data.tags["ftlineage.best_step"]
    assert {c.trace_id for c in scored.values()} == {names[f"checkpoint-{best}"]}
    arena = [c for c in feed.cases if c.stage == "arena"]
    judgements = [
        json.loads(x) for x in _artifact(client, result.run_id, "arena/judgements.jsonl").splitlines()
    ]
    assert all({"candidate", "baseline"} <= set(j) for j in judgements)
    assert all(c.trace_id == names["arena"] for c in arena)
    assert sum(c.size for c in feed.clusters) + len(feed.unclustered) == len(feed.cases)
    assert run.data.params["failures/cases"] == str(len(feed.cases))
    page = _artifact(client, result.run_id, "failures/feed.html")
    assert all(f'<section id="{c.id}">' in page for c in feed.clusters)


def test_failures_cli_reads_a_run_back_and_says_what_is_missing(tiny_run, tmp_path):
    result, client = tiny_run
    env = {"MLFLOW_TRACKING_URI": client.tracking_uri}
    proc = _cli(
        "failures", result.run_id, "--against", "base", "--no-log", "--out", "out", cwd=tmp_path, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("failures: ")
    feed = json.loads((tmp_path / "out" / "feed.json").read_text())
    assert feed["against"] == "base"
    assert (tmp_path / "out" / "feed.html").is_file()
    bad = _cli("failures", result.run_id, "--against", "yesterday", cwd=tmp_path, env=env)
    assert bad.returncode == 2
    assert "yesterday" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_failures_reader_says_what_is_missing(tiny_run):
    from ftlineage.errors import BadInputError
    from ftlineage.pipeline import _failures as F

    result, client = tiny_run
    files = F.mlflow_run_files(client, result.run_id)
    with pytest.raises(BadInputError, match="no @champion with recorded scores; use --against base"):
        F.baseline_scores(files, "champion", lambda: F.mlflow_champion(client, result.run_id))
    with pytest.raises(BadInputError, match="no run '0+' in"):
        F.mlflow_run_files(client, "0" * 32)
    with pytest.raises(BadInputError, match="has no canary-pair traces"):
        F.mlflow_canary(client, result.run_id)
