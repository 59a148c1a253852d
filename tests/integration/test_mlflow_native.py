"""What an MLflow 3 user sees: logged models, dataset inputs, assessments, the run's story."""

from __future__ import annotations

import pytest

from ftlineage.tracking import MlflowRegistry
from ftlineage.tracking._native import CHOSEN_TAG, DESCRIPTION_TAG
from tests.conftest import log_tiny_model

pytestmark = pytest.mark.integration


def test_each_scored_checkpoint_is_a_logged_model_with_its_metrics(tiny_run):
    result, client = tiny_run
    run = client.get_run(result.run_id)
    models = client.search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{result.run_id}'"
    )
    checkpoints = {m.name: m for m in models if m.name.startswith("checkpoint-")}
    assert sorted(checkpoints) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    for name, model in checkpoints.items():
        step = int(name.split("-")[1])
        linked = {m.key: m.value for m in model.metrics}
        assert linked["heldout/json_valid"] == next(
            m.value for m in client.get_metric_history(result.run_id, "heldout/json_valid") if m.step == step
        )
        assert {m.step for m in model.metrics} == {step}
    outputs = {o.model_id: o.step for o in run.outputs.model_outputs}
    assert {outputs[m.model_id] for m in checkpoints.values()} == {2, 4, 6}  # the run page's "Logged models"
    chosen = [n for n, m in checkpoints.items() if m.tags.get(CHOSEN_TAG) == "true"]
    assert chosen == [f"checkpoint-{run.data.tags['ftlineage.best_step']}"]
    # linking added no point to the run's curves
    steps = [m.step for m in client.get_metric_history(result.run_id, "heldout/json_valid")]
    assert steps == sorted(set(steps))


def test_the_datasets_are_run_inputs_with_our_digests(tiny_run):
    result, client = tiny_run
    run = client.get_run(result.run_id)
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {
        "tiny/train",
        "healthcare_v17/heldout",
        "healthcare_v17/drift",
        "healthcare_v17/arena",
    }
    train = inputs["tiny/train"]
    sha = run.data.tags["ftlineage.dataset_sha"]
    assert {t.key: t.value for t in train.tags}["ftlineage.sha256"] == sha
    assert train.dataset.digest == sha[:36]
    lock = __import__("ftlineage.suites", fromlist=["load"]).load("healthcare_v17").lock
    heldout = {t.key: t.value for t in inputs["healthcare_v17/heldout"].tags}
    assert heldout["ftlineage.sha256"] == lock.files["heldout.jsonl"]


def test_case_spans_carry_scores_and_references_as_assessments(tiny_run):
    result, client = tiny_run
    exp = client.get_run(result.run_id).info.experiment_id
    traces = client.search_traces(locations=[exp], run_id=result.run_id, flush=True)
    ckpt = next(t for t in traces if t.info.tags.get("mlflow.traceName") == "checkpoint-4")
    case_spans = {
        s.span_id: s
        for s in ckpt.data.spans
        if s.attributes.get("ftlineage.case_id") and s.name not in ("generate", "score")
    }
    by_span: dict[str, list] = {}
    for a in ckpt.info.assessments:
        by_span.setdefault(a.span_id, []).append(a)
    assert set(by_span) == set(case_spans)
    for span_id, found in by_span.items():
        names = {a.name for a in found}
        assert "reference" in names
        assert any(
            a.source.source_type == "CODE" and a.source.source_id.startswith("ftlineage.scorer:")
            for a in found
        )
        assert case_spans[span_id].inputs["reference"]
    root = next(s for s in ckpt.data.spans if not s.parent_id)
    assert root.inputs["step"] == 4
    assert "heldout/json_valid" in root.outputs


def test_arena_spans_can_be_audited_in_the_ui(tiny_run):
    result, client = tiny_run
    exp = client.get_run(result.run_id).info.experiment_id
    traces = client.search_traces(locations=[exp], run_id=result.run_id, flush=True)
    arena = next(t for t in traces if t.info.tags.get("ftlineage.judge") == "rubric")
    judged = [s for s in arena.data.spans if s.parent_id]
    assert judged
    for span in judged:
        assert span.span_type == "EVALUATOR"  # the rubric judge is programmatic
        assert {"prompt", "first", "second"} <= set(span.inputs)
        assert {"pick", "winner", "reason", "candidate", "baseline"} <= set(span.outputs)
        assert span.outputs["winner"] in ("candidate", "baseline", "tie", "unscored")


@pytest.mark.parametrize(
    ("candidate_first", "pick", "winner"),
    [
        (True, "first", "candidate"),
        (True, "second", "baseline"),
        (False, "first", "baseline"),
        (False, "second", "candidate"),
        (False, "tie", "tie"),
    ],
)
def test_judgement_spans_unblind_the_pick(candidate_first, pick, winner):
    from ftlineage.pipeline._stages import judgement_spans
    from ftlineage.tasks import Case

    record = {"id": "c1", "candidate_first": candidate_first, "pick": pick, "reason": "r", "judge": "j"}
    (span,) = judgement_spans([record], [Case(id="c1", prompt="p")], ["CAND"], ["BASE"], programmatic=False)
    assert span.type == "LLM"
    assert (span.inputs["first"], span.inputs["second"]) == (
        ("CAND", "BASE") if candidate_first else ("BASE", "CAND")
    )
    assert span.outputs["winner"] == winner
    if winner != "tie":
        assert span.inputs[pick] == span.outputs[winner]
    assert span.assessments[0]["source_type"] == "LLM_JUDGE"


def test_a_blocked_run_says_why_on_its_page(tiny_run):
    result, client = tiny_run
    run = client.get_run(result.run_id)
    text = run.data.tags[DESCRIPTION_TAG]
    verdict = "PASS" if result.decision == "pass" else f"BLOCKED at {run.data.tags['ftlineage.blocked_at']}"
    assert text.startswith(f"**{verdict}**")
    for reason in result.reasons:
        assert reason in text


def test_the_registered_candidate_is_a_logged_model_with_a_signature(tiny_export, store):
    import mlflow

    from ftlineage.gate.promotion import register
    from ftlineage.tags import CANDIDATE_MODEL_ID as CANDIDATE_TAG

    client, run_id, uri = log_tiny_model(tiny_export, "native", 8)
    model_id = client.get_run(run_id).data.tags[CANDIDATE_TAG]
    assert uri == f"models:/{model_id}"
    version = register(
        MlflowRegistry(client),
        name="hc",
        source=uri,
        run_id=run_id,
        tags={},
        description="",
        alias="challenger",
    )
    mv = client.get_model_version("hc", version)
    assert mv.source == uri
    info = mlflow.models.get_model_info("models:/hc@challenger")
    assert info.signature is not None
    assert info.signature.inputs.to_dict() == [{"type": "string", "required": True}]
    candidate = client.get_logged_model(model_id)
    assert candidate.name == "candidate"
    assert str(candidate.status) in ("READY", "LoggedModelStatus.READY")
    assert mlflow.pyfunc.load_model("models:/hc@challenger").predict(["Caller: hi"])


def test_candidate_metrics_are_linked_to_the_candidate_model(tiny_export, store):
    import time

    from mlflow.entities import Metric

    from ftlineage.tracking._mlflow import MlflowTracker
    from ftlineage.tracking._registry import log_pyfunc

    tracker = MlflowTracker.start(experiment="native-m", run_name="m")
    client = tracker.client
    client.log_batch(
        tracker.run_id, metrics=[Metric("candidate/heldout/json_valid", 0.75, int(time.time() * 1000), 4)]
    )
    uri = log_pyfunc(
        client, tracker.run_id, tiny_export.folder, tiny_export.recipe.prompt_template, 8, metric_step=4
    )
    model = client.get_logged_model(uri.removeprefix("models:/"))
    assert {(m.key, m.value, m.step) for m in model.metrics} == {("candidate/heldout/json_valid", 0.75, 4)}
    assert len(client.get_metric_history(tracker.run_id, "candidate/heldout/json_valid")) == 1
