"""What the run page says: the run's description (the decision and why) and its dataset inputs."""

from __future__ import annotations

from typing import Any

from ftlineage.gate import GateDecision
from ftlineage.pipeline._context import JobContext
from ftlineage.tracking import dataset_input, describe_run, log_run_inputs, primary_mlflow


def describe(
    ctx: JobContext, decision: GateDecision, warnings: tuple[str, ...] = (), version: str | None = None
) -> None:
    """The run's description: PASS or BLOCKED (and where), every failed check, arena warnings."""
    tracker = primary_mlflow(ctx.tracker)
    if tracker is None:
        return
    describe_run(
        tracker.client, tracker.run_id, decision_markdown(ctx.recipe.name, decision, warnings, version)
    )


def decision_markdown(
    name: str, decision: GateDecision, warnings: tuple[str, ...], version: str | None
) -> str:
    """Markdown for a decision: the verdict line, then the failed (or all) checks and the warnings."""
    if decision.decision == "pass":
        head = f"**PASS** — {name} passed every check" + (
            f"; registered as version {version}" if version else ""
        )
        checks = list(decision.checks)
    else:
        head = f"**BLOCKED at {decision.stage}** — {name}: {len(decision.failed)} check(s) failed"
        checks = list(decision.failed)
    lines = [head, "", *(f"- {c.reason}" for c in checks)]
    if warnings:
        lines += ["", "Arena warnings:", *(f"- {w}" for w in warnings)]
    return "\n".join(lines)


def describe_error(ctx: JobContext, error: BaseException) -> None:
    """A run that crashed says so on its page (the traceback is in the process's output)."""
    tracker = primary_mlflow(ctx.tracker)
    if tracker is not None:
        describe_run(tracker.client, tracker.run_id, f"**FAILED** — {type(error).__name__}: {error}"[:2000])


def log_inputs(ctx: JobContext, train: list[dict[str, Any]]) -> None:
    """The audited training rows, each suite part and the arena pool, as the run's dataset inputs."""
    tracker = primary_mlflow(ctx.tracker)
    if tracker is None:
        return
    corpus = ", ".join(str(p) for p in ctx.recipe.corpus)
    inputs = [
        dataset_input(f"{ctx.recipe.name}/train", ctx.lineage.dataset_sha, corpus, "training", len(train))
    ]
    suite = ctx.suite
    for part, context in (("heldout", "evaluation"), ("drift", "evaluation"), ("arena", "arena")):
        source, sha = suite.part_source(part)
        if source is None:
            continue
        rows = len(getattr(suite, part))
        inputs.append(dataset_input(f"{suite.meta.name}/{part}", sha, source, context, rows))
    log_run_inputs(tracker.client, tracker.run_id, inputs)
