"""``ftlineage gate-run`` (gate a user's own training run) and ``ftlineage status`` (what is live)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer


def gate_run(
    run_id: Annotated[str, typer.Argument(help="the MLflow run your training script logged to")],
    recipe: Annotated[Path, typer.Option(help="the recipe: suite, prompt, gate, arena, registry")],
    checkpoint: Annotated[Path, typer.Option(help="the chosen checkpoint: a model or PEFT adapter folder")],
    step: Annotated[int, typer.Option(help="its training step (where candidate/* metrics are logged)")] = 0,
) -> None:
    """Arena, rule, decision, card and registration for a checkpoint, written into your own run.

    Exit 0 pass, 4 blocked by the gate, 3 blocked by the audit, 2 bad input. The run is not ended.
    """
    from ftlineage.cli import print_result
    from ftlineage.pipeline import gate_run as run

    result = run(recipe, checkpoint, run_id=run_id, step=step)
    print_result(result)
    raise typer.Exit(result.exit_code)


def status(
    live: Annotated[
        bool, typer.Option(help="ask each endpoint champion for its retirement date now")
    ] = False,
) -> None:
    """Per registered model and prompt: champion, challenger, kind, last decision, suite, when scored."""
    from ftlineage.tracking import MlflowRegistry, PromptRegistry

    models = MlflowRegistry.connect()
    rows = [_row(models, m.name, "model", live) for m in _models(models)]
    prompts = PromptRegistry(models.client)
    rows += [_row(prompts, p.name, "prompt", live) for p in models.client.search_prompts(max_results=1000)]
    if not rows:
        typer.echo("nothing registered yet: a passing `ftlineage run` registers its candidate")
        return
    for row in rows:
        typer.echo(row)


def _models(registry: Any) -> list[Any]:
    from ftlineage import tags as T
    from ftlineage.gate.promotion import LEDGER

    found = registry.client.search_registered_models(max_results=1000)
    return [m for m in found if not m.name.startswith(LEDGER) and T.LEDGER not in (m.tags or {})]


def _when(ms: int | None) -> str:
    if not ms:
        return "?"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _row(registry: Any, name: str, what: str, live: bool) -> str:
    from ftlineage import tags as T

    aliases = registry.aliases(name)
    champion, challenger = aliases.get("champion"), aliases.get("challenger")
    shown = champion or challenger
    version = registry.get_version(name, shown) if shown else None
    tags = dict(version.tags) if version else {}
    run_tags = (registry.run_tags(version.run_id) or {}) if version and version.run_id else {}
    last = _last_decision(registry, name)
    parts = [
        f"{name} ({what})",
        f"champion {'v' + champion if champion else '-'}",
        f"challenger {'v' + challenger if challenger else '-'}",
        f"kind {tags.get(T.CANDIDATE_KIND, run_tags.get(T.CANDIDATE_KIND, '?'))}",
        f"suite {tags.get(T.SUITE_SHA, '?')[:12]}",
        f"scored {_when(_run_end(registry, version.run_id) if version and version.run_id else None)}",
        f"last decision {last}",
    ]
    retire = _retirement(run_tags, live)
    if retire:
        parts.append(f"RETIRING {retire}" if retire >= dt.date.today().isoformat() else f"RETIRED {retire}")
    return " | ".join(parts)


def _run_end(registry: Any, run_id: str) -> int | None:
    try:
        info = registry.client.get_run(run_id).info
    except Exception:  # noqa: BLE001 - a deleted run: no time to show
        return None
    return int(info.end_time or info.start_time or 0)


def _last_decision(registry: Any, name: str) -> str:
    """The newest gated run for ``name``: its decision and the checks it failed."""
    from ftlineage import tags as T
    from ftlineage.errors import BadInputError
    from ftlineage.gate.promotion import read_decision
    from ftlineage.tracking import filter_literal

    client = registry.client
    try:
        quoted = filter_literal(name)
    except BadInputError:  # a name no MLflow filter can hold: its runs cannot be searched
        return "? (the name cannot be searched: it holds both quote characters or ends in a backslash)"
    ids = [e.experiment_id for e in client.search_experiments(max_results=1000)]
    runs = client.search_runs(
        ids,
        f"tags.`{T.REGISTRY_MODEL_NAME}` = {quoted} and tags.`{T.DECISION}` != ''",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return "none"
    run = runs[0]
    try:
        failed = [c.name for c in read_decision(registry, run.info.run_id).failed]
    except Exception:  # noqa: BLE001 - a run without a readable decision still has its tag
        failed = []
    shown = f"{run.data.tags[T.DECISION]} (run {run.info.run_id[:8]}, {_when(run.info.start_time)})"
    return shown + (f" failed: {', '.join(failed)}" if failed else "")


def _retirement(run_tags: dict[str, str], live: bool) -> str | None:
    """The retirement date the champion's endpoint announced (asked again with ``--live``)."""
    from ftlineage import tags as T

    recorded = run_tags.get(f"{T.SHUTDOWN_DATE}.candidate")
    url, model = run_tags.get(f"{T.ENDPOINT_URL}.candidate"), run_tags.get(f"{T.ENDPOINT_MODEL}.candidate")
    if not (live and url and model):
        return recorded
    from ftlineage.candidates import EndpointSpec, identify

    try:
        return identify(EndpointSpec(base_url=url, model=model, timeout_s=10)).shutdown_date or recorded
    except Exception:  # noqa: BLE001 - an unreachable endpoint keeps what was recorded
        return recorded
