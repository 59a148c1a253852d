"""``ftlineage sweep`` and ``ftlineage train --seeds``: training-side verbs beside the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def sweep(
    recipe: Annotated[Path, typer.Argument(help="recipe YAML; its `sweep:` section is the search space")],
    trials: Annotated[int, typer.Option(min=1, help="finished trials the study should reach")] = 10,
    storage: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            envvar="FTLINEAGE_SWEEP_STORAGE",
            help="Optuna storage URL, e.g. postgresql://... "
            "(default: the work dir's sqlite; prefer the env var for a URL with a password)",
        ),
    ] = None,  # fmt: skip
    study: Annotated[Optional[str], typer.Option(help="study name (default: <recipe>-sweep)")] = None,  # noqa: UP045
    workers: Annotated[int, typer.Option(min=1, help="processes running trials at once (same storage)")] = 1,
    join: Annotated[
        bool, typer.Option(help="run trials of a study another machine owns (needs --storage); no gate")
    ] = False,
    share: Annotated[Optional[int], typer.Option(min=0, hidden=True)] = None,  # noqa: UP045
) -> None:
    """Optuna sweep (resumable, pruned on held-out scores); the best trial goes on to the gate.

    With --workers N the trials run in N processes that share the study's RDB storage; another
    machine joins with --join on the same storage.
    """
    from ftlineage.pipeline import join_sweep, run_sweep

    if join:
        if not storage:
            raise typer.BadParameter("--join needs the owner's --storage (or FTLINEAGE_SWEEP_STORAGE)")
        ran = join_sweep(recipe, trials, storage, study, share)
        typer.echo(f"joined the study: {ran} trial(s) run here")
        return
    result = run_sweep(recipe, trials, storage, study, workers=workers)
    counts = ", ".join(f"{k} {v}" for k, v in result.states.items() if v)
    typer.echo(f"study {result.study_name} ({result.storage}): {counts}")
    if result.job is None:
        typer.echo("no trial completed; nothing to gate")
        raise typer.Exit(4)
    typer.echo(
        f"best trial {result.best_trial} (value {result.best_value:.4f}), run {result.job.run_id}: "
        f"{result.job.decision.upper()}"
    )
    for reason in result.job.reasons:
        typer.echo(f"  - {reason}")
    raise typer.Exit(result.job.exit_code)


def train(
    recipe: Annotated[Path, typer.Argument(help="recipe YAML")],
    seeds: Annotated[int, typer.Option(min=1, help="train with this many seeds and report the spread")] = 1,
) -> None:
    """Audit and fine-tune only (no arena, no registry); with --seeds N, the spread across seeds."""
    from ftlineage.pipeline import train_seeds

    spread = train_seeds(recipe, seeds)
    typer.echo(f"{'metric':<32} {'mean':>8} {'sd':>8} {'min':>8} {'max':>8}   (seeds {spread.seeds})")
    for name, s in spread.metrics.items():
        typer.echo(f"{name:<32} {s['mean']:>8.4f} {s['sd']:>8.4f} {s['min']:>8.4f} {s['max']:>8.4f}")
    for note in spread.notes:
        typer.echo(f"  - {note}")
