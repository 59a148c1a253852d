"""Training wall time with and without ``EvalGateCallback`` on the demo recipe.

    python benchmarks/callback_overhead.py [--recipe recipes/healthcare_v17.yaml] [--steps N]

Runs the recipe's fine-tune twice from the same base: once with a plain Trainer saving at the
same steps, once with the callback at default settings (scoring every save on the held-out set
and the frozen drift suite, logging to a real sqlite MLflow store). Prints both wall times, the
evaluation share of wall time and the logging cost per training step (queueing the per-step
loss; the store writes happen off the step). Targets: evaluation <= 15 %, logging < 5 ms/step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("FTLINEAGE_PROGRESS", "0")


def _setup(recipe_path: str, steps: int | None):
    import torch

    from ftlineage import suites
    from ftlineage.data import read_corpus
    from ftlineage.models import format_for, load_model, resolve_base
    from ftlineage.recipe import load_recipe
    from ftlineage.settings import Settings
    from ftlineage.training import tokenize_rows

    settings = Settings.from_env()
    torch.set_num_threads(settings.num_threads)
    recipe = load_recipe(recipe_path)
    if steps:
        recipe = recipe.model_copy(update={"training": recipe.training.model_copy(update={"max_steps": steps})})
    ref = resolve_base(recipe.base_model, settings.cache_dir, progress=True)
    suite = suites.load(recipe.suite)
    train, replay = _job_rows(recipe, suite, read_corpus(recipe.corpus))
    _, tok = load_model(ref)
    spec = recipe.training
    fmt = format_for(tok, recipe.prompt_template, chat=recipe.chat_mode(), system=recipe.system_prompt)
    examples = tokenize_rows(train, tok, fmt, spec.max_seq_len)
    examples += tokenize_rows(replay, tok, fmt.with_template("{prompt}"), spec.max_seq_len)
    return recipe, suite, ref, examples, fmt


def _job_rows(recipe, suite, rows):
    """The main job's training rows: the seeded split plus general replay rows (no audit drops)."""
    import random

    from ftlineage.data._general import GENERAL_TEMPLATE
    from ftlineage.data._replay import replay_rows

    rows = sorted(rows, key=lambda r: r["id"])
    random.Random(recipe.seed).shuffle(rows)
    spec = recipe.training
    train = rows[int(len(rows) * spec.validation_fraction) :]
    n_replay = int(len(train) * spec.replay_fraction / (1 - spec.replay_fraction))
    replay = replay_rows(n_replay, seed=recipe.seed, template=GENERAL_TEMPLATE,
                         exclude=[c.input_text for c in suite.drift])
    return train, replay


def _train(recipe, suite, ref, examples, fmt, out: Path, with_callback: bool):
    import torch

    from ftlineage.models import load_model
    from ftlineage.pipeline._sinks import TrackerSink
    from ftlineage.tracking._mlflow import MlflowTracker
    from ftlineage.training import EvalGateCallback, build_trainer, evaluate_model, prepare_model

    model, tok = load_model(ref)
    torch.manual_seed(recipe.seed)
    peft = prepare_model(model, recipe.training)
    callbacks, cb = [], None
    if with_callback:
        limit = recipe.training.eval_limit

        def evaluate(m):
            return evaluate_model(m, tok, suite, fmt, limit=limit)[0]

        base = evaluate(model)
        tracker = MlflowTracker.start(experiment="bench", run_name="callback")
        sink = TrackerSink(tracker, base, out / "plot.png", recipe.gate.drift_fail_points, {})
        cb = EvalGateCallback(evaluate, base, [sink])
        callbacks = [cb]
    trainer = build_trainer(peft, tok, examples, recipe.training, output_dir=out / "ckpt", seed=recipe.seed,
                            callbacks=callbacks, progress=False)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    if cb is not None:
        tracker.finish("FINISHED")
    return wall, cb, trainer.state.global_step


def _log_cost(n: int = 2000) -> list[float]:
    """Per-call cost of queueing one step's loss and learning rate (the callback's per-step work)."""
    from ftlineage.tracking._mlflow import MlflowTracker

    tracker = MlflowTracker.start(experiment="bench", run_name="log-cost")
    costs = []
    for step in range(n):
        t = time.perf_counter()
        tracker.log_metrics({"train/loss": 1.0 / (step + 1), "train/learning_rate": 1e-3}, step=step)
        costs.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    tracker.finish("FINISHED")
    print(f"flush of {n} queued steps at the end: {time.perf_counter() - t:.2f} s")
    return costs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", default="recipes/healthcare_v17.yaml")
    parser.add_argument("--steps", type=int, default=None, help="override max_steps (default: the recipe's)")
    args = parser.parse_args()
    recipe, suite, ref, examples, fmt = _setup(args.recipe, args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        plain, _, steps = _train(recipe, suite, ref, examples, fmt, Path(tmp) / "plain", with_callback=False)
        gated, cb, _ = _train(recipe, suite, ref, examples, fmt, Path(tmp) / "gated", with_callback=True)
        costs = _log_cost()
    assert cb is not None
    print(f"recipe {args.recipe}: {steps} steps, {len(cb.checkpoints)} checkpoints scored, "
          f"eval_limit {recipe.training.eval_limit}; stop: {cb.stop_reason or 'none'}")
    print(f"training wall time without the callback: {plain:8.1f} s")
    print(f"training wall time with the callback:    {gated:8.1f} s")
    print(f"evaluation inside the callback:          {cb.eval_seconds:8.1f} s = "
          f"{cb.eval_seconds / gated:.1%} of wall time (target <= 15 %)")
    print(f"overhead measured as the difference:     {(gated - plain) / gated:.1%} of wall time")
    print(f"logging per step inside training:        {cb.log_seconds / steps * 1000:8.2f} ms "
          f"(sinks, incl. checkpoint flushes)")
    print(f"queueing one step's metrics (n={len(costs)}): median {statistics.median(costs):.3f} ms, "
          f"p99 {sorted(costs)[int(len(costs) * 0.99)]:.3f} ms (target < 5 ms)")


if __name__ == "__main__":
    main()
