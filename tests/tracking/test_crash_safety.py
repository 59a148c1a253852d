"""What a resumed or rerun job logs a second time into the same run (issue 37), on a real sqlite store."""

from __future__ import annotations

import random
from types import SimpleNamespace

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from ftlineage.tracking import (
    LoggedModelSink,
    MlflowRegistry,
    MlflowTracker,
    Span,
    TraceLedger,
    dataset_input,
    log_run_inputs,
    trace_ledger,
)
from ftlineage.tracking._mlflow import exporting_to

SPANS = [
    Span(
        f"case-{i}",
        "CHAIN",
        {"prompt": "p"},
        {"output": "o"},
        {T.CASE_ID: f"case-{i}"},
        assessments=({"name": "score", "value": 1.0, "source": "test"},),
    )
    for i in range(3)
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """One sqlite store for the module (creating one costs seconds); each test has its own experiment."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"


@pytest.fixture
def tracker(store, request, tmp_path, monkeypatch) -> MlflowTracker:
    monkeypatch.chdir(tmp_path)  # the experiment's artifacts (./mlruns) stay in the test's folder
    return MlflowTracker.start(experiment=request.node.name[:60], run_name="job", tracking_uri=store)


def _traces(tracker: MlflowTracker) -> list:
    exp = tracker.client.get_run(tracker.run_id).info.experiment_id
    return list(tracker.client.search_traces(locations=[exp], run_id=tracker.run_id, flush=True))


def test_a_seeded_global_random_does_not_make_trace_ids_collide(tracker):
    """The Trainer seeds ``random`` and restores it on resume: the next trace must not take an old id."""
    random.seed(3)
    first = tracker.log_trace("checkpoint-4", SPANS, {})
    random.seed(3)  # what the Trainer's RNG restore does after a resume
    second = tracker.log_trace("checkpoint-8", SPANS, {})
    assert first != second
    names = sorted(t.info.tags["mlflow.traceName"] for t in _traces(tracker))
    assert names == ["checkpoint-4", "checkpoint-8"]


def test_a_checkpoint_linked_again_after_a_resume_keeps_one_output(tracker):
    """A re-scored checkpoint links its logged model again (today: UNIQUE constraint failed: inputs)."""
    tracker.log_metrics({"heldout/score": 0.5}, step=4)
    tracker.flush()
    sink = LoggedModelSink(tracker)
    score = SimpleNamespace(step=4, metrics={"heldout/score": 0.5})
    assessment = SimpleNamespace(worst="noise")
    sink.on_checkpoint(score, assessment, [])
    sink.on_checkpoint(score, assessment, [])  # the resumed process scores step 4 again
    outputs = tracker.client.get_run(tracker.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [sink.models[4]]


def test_a_registration_rerun_logs_the_candidate_again_without_crashing(tracker, tmp_path):
    """kill -9 during registration, rerun: the candidate is packaged into the same run a second time."""
    model_dir = tmp_path / "export"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    tracker.log_metrics({"candidate/score": 0.5}, step=4)
    tracker.flush()
    registry = MlflowRegistry(tracker.client)
    kw = {"template": "{prompt}", "max_new_tokens": 4, "input_example": "hi", "metric_step": 4}
    first = registry.log_candidate(tracker.run_id, model_dir, **kw)
    again = registry.log_candidate(tracker.run_id, model_dir, **kw)
    assert again == first
    outputs = tracker.client.get_run(tracker.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [first.removeprefix("models:/")]


def test_dataset_inputs_logged_twice_into_one_run_are_kept_once(tracker):
    inputs = [
        dataset_input("tiny/train", "a" * 64, "corpus.jsonl", "training", 10),
        dataset_input("suite/heldout", "b" * 64, "heldout.jsonl", "evaluation", 4),
    ]
    log_run_inputs(tracker.client, tracker.run_id, inputs)
    log_run_inputs(
        tracker.client, tracker.run_id, [*inputs, dataset_input("suite/arena", "c" * 64, "a", "arena", 2)]
    )
    have = tracker.client.get_run(tracker.run_id).inputs.dataset_inputs
    assert sorted(d.dataset.name for d in have) == ["suite/arena", "suite/heldout", "tiny/train"]


def test_the_ledger_lists_whole_and_cut_off_traces_and_deletes_them(tracker, store):
    assert isinstance(tracker, TraceLedger)
    assert trace_ledger(tracker) is tracker
    whole = tracker.log_trace("checkpoint-0", SPANS, {})
    tracker.wait_for_assessments()
    exp = tracker.client.get_run(tracker.run_id).info.experiment_id
    exp_name = tracker.client.get_experiment(exp).name
    with exporting_to(store):  # a trace whose root never ended (the process died mid-trace)
        root = tracker.client.start_trace("checkpoint-4", experiment_id=exp)
        tracker._span(root.trace_id, root.span_id, SPANS[0], [])
        mlflow.flush_trace_async_logging()
    found = {t.trace_id: t for t in tracker.stored_traces()}
    assert found[whole].name == "checkpoint-0"
    assert found[whole].complete
    assert found[whole].assessments == 3
    (cut,) = [t for t in found.values() if t.trace_id != whole]
    assert (cut.name, cut.complete) == ("", False)
    other = MlflowTracker.start(experiment=exp_name, run_name="other", tracking_uri=store)
    assert other.stored_traces() == []  # another run never sees (or deletes) this run's traces
    tracker.delete_traces([cut.trace_id, whole])
    assert tracker.stored_traces() == []
    assert MlflowClient(store).search_traces(locations=[exp]) == []
