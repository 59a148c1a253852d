from types import SimpleNamespace

import pytest

from ftlineage.training import EvalGateCallback, GatePolicy


class _Sink:
    def __init__(self, stop_at=None):
        self.metrics, self.checkpoints, self.stop_at = [], [], stop_at

    def log_metrics(self, metrics, *, step):
        self.metrics.append((step, metrics))

    def on_checkpoint(self, score, assessment, history):
        self.checkpoints.append((score.step, assessment))
        return "sink says stop" if score.step == self.stop_at else None


def _save(cb, step, control=None):
    control = control or SimpleNamespace(should_training_stop=False, should_save=False)
    cb.on_save(SimpleNamespace(output_dir="out"), SimpleNamespace(global_step=step), control, model=object())
    return control


def test_callback_dispatches_scores_with_step_and_picks_best_by_heldout():
    scores = iter([0.2, 0.7, 0.5])
    sink = _Sink()
    cb = EvalGateCallback(lambda model: {"heldout/field_accuracy": next(scores)}, base={}, sinks=[sink])
    for step in (10, 20, 30):
        _save(cb, step)
    logs = {"loss": 1.5, "epoch": 1.0, "grad_norm": 0.3, "total_flos": 9.0}
    cb.on_log(None, SimpleNamespace(global_step=30), None, logs=logs)
    assert [s for s, _ in sink.checkpoints] == [10, 20, 30]
    assert sink.metrics == [(30, {"train/loss": 1.5, "train/epoch": 1.0, "train/grad_norm": 0.3})]
    best = cb.best()
    assert (best.step, best.path) == (20, "out/checkpoint-20")


def test_best_without_checkpoints_says_why():
    cb = EvalGateCallback(lambda m: {}, base={})
    with pytest.raises(RuntimeError, match="no checkpoint was scored"):
        cb.best()


def test_a_hard_drift_fail_stops_and_a_concerning_drift_recommends_seeds():
    values = iter([0.97, 0.90])  # 3 points (concerning), then 10 points (fail)
    sink = _Sink()
    cb = EvalGateCallback(
        lambda m: {"heldout/field_accuracy": 0.5, "drift/arithmetic": next(values)},
        base={"drift/arithmetic": 1.0},
        sinks=[sink],
        policy=GatePolicy(confirm=1),
    )
    first = _save(cb, 2)
    assert not first.should_training_stop
    assert "--seeds 3" in cb.assessments[0].recommendation
    second = _save(cb, 4)
    assert second.should_training_stop
    assert "hard drift fail at step 4: arithmetic -10.0 points" in cb.stop_reason


def test_plateau_needs_falling_loss_and_patience():
    held = iter([0.1, 0.5, 0.5, 0.5, 0.5])
    cb = EvalGateCallback(
        lambda m: {"heldout/field_accuracy": next(held)}, base={}, policy=GatePolicy(patience=2)
    )
    stops = []
    for step, loss in zip((2, 4, 6, 8, 10), (3.0, 2.0, 1.5, 1.0, 0.5), strict=True):
        cb.on_log(None, SimpleNamespace(global_step=step), None, logs={"loss": loss})
        stops.append(_save(cb, step).should_training_stop)
    assert stops == [False, False, False, True, True]
    assert cb.best().step == 4  # the first to reach the plateau
    assert "has not improved for 2 evaluations" in cb.stop_reason


def test_flat_loss_is_not_a_plateau_stop():
    cb = EvalGateCallback(lambda m: {"heldout/field_accuracy": 0.5}, base={}, policy=GatePolicy(patience=1))
    for step in (2, 4, 6):
        cb.on_log(None, SimpleNamespace(global_step=step), None, logs={"loss": 1.0})
        assert not _save(cb, step).should_training_stop


def test_a_sink_can_stop_training_and_eval_every_requests_saves():
    cb = EvalGateCallback(lambda m: {}, base={}, sinks=[_Sink(stop_at=4)], eval_every=3)
    assert not _save(cb, 2).should_training_stop
    assert _save(cb, 4).should_training_stop
    assert cb.stop_reason == "sink says stop"
    control = SimpleNamespace(should_save=False)
    cb.on_step_end(None, SimpleNamespace(global_step=6), control)
    assert control.should_save


def test_a_one_evaluation_drift_dip_does_not_stop_but_a_sustained_fail_does():
    values = iter([0.93, 1.0, 0.93, 0.92])  # -7 (dip), back to 0, then -7 and -8 in a row
    cb = EvalGateCallback(
        lambda m: {"drift/domain_adjacent": next(values)}, base={"drift/domain_adjacent": 1.0}
    )
    stops = [_save(cb, step).should_training_stop for step in (150, 300, 450, 600)]
    assert stops == [False, False, False, True]
    assert cb.stop_reason.endswith("(2 evaluations in a row)")
