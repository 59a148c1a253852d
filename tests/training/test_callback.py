from types import SimpleNamespace

import pytest

from ftlineage.training import EvalGateCallback


def test_callback_dispatches_scores_with_step_and_picks_best_by_heldout():
    logged = []
    scores = iter([0.2, 0.7, 0.5])
    cb = EvalGateCallback(evaluate=lambda model: {"heldout/field_accuracy": next(scores)},
                          sink=lambda m, s: logged.append((s, m)))
    for step in (10, 20, 30):
        cb.on_save(SimpleNamespace(output_dir="out"), SimpleNamespace(global_step=step), None,
                   model=object())
    cb.on_log(None, SimpleNamespace(global_step=30), None, logs={"loss": 1.5, "epoch": 1.0})
    assert [s for s, _ in logged] == [10, 20, 30, 30]
    assert logged[-1][1] == {"train/loss": 1.5}
    best = cb.best()
    assert (best.step, best.path) == (20, "out/checkpoint-20")


def test_best_without_checkpoints_says_why():
    cb = EvalGateCallback(evaluate=lambda m: {}, sink=lambda m, s: None)
    with pytest.raises(RuntimeError, match="no checkpoint was scored"):
        cb.best()
