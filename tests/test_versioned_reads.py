"""Files "from the future": every reader refuses a schema_version newer than it knows, and reads
files from before a field was added."""

from __future__ import annotations

import json

import pytest

from ftlineage.arena import ArenaResult
from ftlineage.audit import AuditReport
from ftlineage.canary import MonitorStatus, ReplayResult
from ftlineage.ci._baseline import Baseline, load_baseline
from ftlineage.compare import RunDiff
from ftlineage.errors import BadInputError, FtlineageError, SuiteError
from ftlineage.gate import GateDecision, ModelCard
from ftlineage.lineage import LineageManifest
from ftlineage.pipeline._train import TrainingDone
from ftlineage.readers import parse_versioned
from ftlineage.scoring import CheckpointCases, SuiteScores
from ftlineage.suites import SuiteLock
from ftlineage.tiers import TiersReport
from ftlineage.training import Assessment
from ftlineage.training._callback import HISTORY_FILE, load_history
from ftlineage.training._policy import CheckpointScore

# Every format we write to disk and may read back.
READ_BACK = [
    SuiteLock, GateDecision, SuiteScores, ArenaResult, CheckpointScore, Baseline, LineageManifest, ModelCard,
    TiersReport,
    AuditReport, RunDiff, MonitorStatus, ReplayResult, Assessment, CheckpointCases, TrainingDone,
]


def _future(model) -> str:
    return json.dumps({"schema_version": model.model_fields["schema_version"].default + 1, "new_field": 1})


@pytest.mark.parametrize("model", READ_BACK, ids=lambda m: m.__name__)
def test_a_file_from_a_newer_release_is_refused(model):
    with pytest.raises(FtlineageError, match=r"written by a newer ftlineage .*upgrade ftlineage"):
        parse_versioned(model, _future(model), "f.json")


def test_a_file_from_before_the_version_field_reads_as_version_1():
    old = json.dumps({"step": 2, "path": "checkpoint-2", "metrics": {"heldout/x": 0.5}})
    score = parse_versioned(CheckpointScore, old, "old.json")
    assert (score.schema_version, score.step, score.metrics) == (1, 2, {"heldout/x": 0.5})


def test_readers_refuse_the_future(tmp_path, capsys):
    from ftlineage.cli import main

    folder = tmp_path / "checkpoint-2"
    folder.mkdir()
    (folder / HISTORY_FILE).write_text(_future(CheckpointScore))
    with pytest.raises(BadInputError, match="newer ftlineage"):
        load_history(tmp_path)
    (tmp_path / "b.json").write_text(_future(Baseline))
    with pytest.raises(BadInputError, match="newer ftlineage"):
        load_baseline(tmp_path / "b.json")
    (tmp_path / "s.json").write_text(_future(SuiteScores))
    (tmp_path / "a.json").write_text(_future(ArenaResult))
    argv = [
        "gate",
        "--candidate",
        str(tmp_path / "s.json"),
        "--baseline",
        str(tmp_path / "s.json"),
        "--arena",
        str(tmp_path / "a.json"),
        "--out",
        str(tmp_path / "d.json"),
    ]
    assert main(argv) == 2
    assert "s.json: written by a newer ftlineage" in capsys.readouterr().err


def test_a_suite_lock_from_the_future_is_refused(tmp_path):
    import shutil

    from ftlineage import suites

    shutil.copytree(suites.bundled_root() / "healthcare_v17", tmp_path / "s")
    (tmp_path / "s" / "suite.lock").write_text(_future(SuiteLock))
    with pytest.raises(SuiteError, match="newer ftlineage"):
        suites.verify(str(tmp_path / "s"))


@pytest.mark.parametrize("model", READ_BACK, ids=lambda m: m.__name__)
def test_an_unknown_field_in_a_current_file_is_refused_not_ignored(model):
    current = model.model_fields["schema_version"].default
    with pytest.raises(FtlineageError, match="not a valid"):
        parse_versioned(model, json.dumps({"schema_version": current, "surprise": 1}), "f.json")


def test_checkpoint_cases_from_before_the_version_field_are_upgraded():
    case = {"id": "c1", "part": "heldout", "family": "", "output": "x", "scores": {"exact": 1.0}}
    old = parse_versioned(CheckpointCases, json.dumps([case]), "old.json", upgrade=CheckpointCases.upgrade)
    new = parse_versioned(CheckpointCases, json.dumps({"schema_version": 2, "cases": [case]}), "new.json")
    assert old.cases == new.cases
    assert old.cases[0].id == "c1"
    with pytest.raises(FtlineageError, match="newer ftlineage"):
        parse_versioned(CheckpointCases, _future(CheckpointCases), "f.json", upgrade=CheckpointCases.upgrade)


def test_a_training_done_mark_from_the_future_is_refused(tmp_path):
    from ftlineage.pipeline._train import DONE_FILE, _finished, _mark_finished

    _mark_finished(tmp_path, 12, "plateau")
    assert _finished(tmp_path) == TrainingDone(final_step=12, stop_reason="plateau")
    (tmp_path / DONE_FILE).write_text(_future(TrainingDone))
    with pytest.raises(BadInputError, match="newer ftlineage"):
        _finished(tmp_path)
