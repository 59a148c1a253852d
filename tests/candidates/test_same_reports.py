"""A model folder gated as kind: model gets the reports its trained run got: same rule, same verdicts."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_the_trained_runs_export_as_a_model_candidate_gets_the_same_decision(tiny_run, store, tmp_path):
    from ftlineage.pipeline import run_job

    trained, _ = tiny_run
    recipe = (trained.out_dir.parents[1] / "tiny.yaml").read_text()
    path = tmp_path / "model.yaml"
    path.write_text(recipe + f"candidate: {{kind: model, path: {trained.out_dir / 'export'}}}\n")
    result = run_job(str(path), None)
    assert result.decision == trained.decision

    def load(run, name):
        return json.loads((run.out_dir / name).read_text())

    for name in ("gate/decision.json", "arena/arena.json", "scores/baseline.json", "scores/candidate.json"):
        assert (result.out_dir / name).is_file(), name
    mine, theirs = load(result, "gate/decision.json"), load(trained, "gate/decision.json")
    assert [c["name"] for c in mine["checks"]] == [c["name"] for c in theirs["checks"]]
    assert [c["passed"] for c in mine["checks"]] == [c["passed"] for c in theirs["checks"]]
    arena_mine, arena_theirs = load(result, "arena/arena.json"), load(trained, "arena/arena.json")
    assert (arena_mine["wins"], arena_mine["losses"], arena_mine["ties"]) == (
        arena_theirs["wins"],
        arena_theirs["losses"],
        arena_theirs["ties"],
    )
    base_mine, base_theirs = load(result, "scores/baseline.json"), load(trained, "scores/baseline.json")
    base_mine["metrics"].pop("latency/ms_per_case")  # wall time differs between any two runs
    base_theirs["metrics"].pop("latency/ms_per_case")
    assert base_mine["metrics"] == base_theirs["metrics"]  # the same base, scored the same way
    assert mine["lineage"]["model_sha"] == theirs["lineage"]["model_sha"]  # the very weights it exported
