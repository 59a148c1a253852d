"""``ftlineage failures RUN_ID`` (the feed of a run) and ``ftlineage failures freeze`` (a regression part)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup


class _RunOrCommand(TyperGroup):
    """``failures RUN_ID ...`` runs ``failures show RUN_ID ...``; ``failures freeze ...`` is a command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


failures_app = typer.Typer(
    cls=_RunOrCommand,
    no_args_is_help=True,
    help="The failure feed: a run's failed cases in named clusters with a suggested fix "
    "(`ftlineage failures RUN_ID`), and freezing a cluster into a regression part "
    "(`ftlineage failures freeze RUN_ID CLUSTER --suite DIR`).",
)


def _options(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value is read as YAML (``8``, ``true``), else kept as the text written."""
    from ftlineage import readers as userfile
    from ftlineage.errors import BadInputError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise BadInputError(
                f"--fixer-option {pair!r}: write KEY=VALUE, e.g. base_url=http://127.0.0.1:8000/v1"
            )
        try:
            parsed = userfile.parse(value, Path("--fixer-option"), "value")[0] if value.strip() else ""
        except BadInputError:  # not a YAML scalar (a quote, a colon): the text as written
            parsed = value
        out[key.strip()] = parsed
    return out


def _client() -> Any:
    from mlflow.tracking import MlflowClient

    from ftlineage.tracking import init_store

    return MlflowClient(tracking_uri=init_store())  # a server that does not answer fails at once


@failures_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="a main-job run (blocked or passed)")],
    canary: Annotated[Optional[str], typer.Option(help="also the alarmed pairs of this canary run")] = None,  # noqa: UP045
    against: Annotated[
        str, typer.Option(help="flips against: baseline (the gate's), base, or champion")
    ] = "baseline",
    fixer: Annotated[str, typer.Option(help="who writes fixes: rules, openai or hf")] = "rules",
    fixer_option: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="KEY=VALUE for the model fixer (base_url, model, family, api_key_env)"),
    ] = None,
    pass_mark: Annotated[float, typer.Option(help="a primary score below this fails a case")] = 1.0,
    min_cluster_size: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="HDBSCAN's smallest cluster (default: sized to each group)"),
    ] = None,
    top: Annotated[int, typer.Option(help="clusters to print")] = 10,
    out: Annotated[Optional[Path], typer.Option(help="folder for feed.json and feed.html")] = None,  # noqa: UP045
    log: Annotated[bool, typer.Option(help="also log the feed to the run under failures/")] = True,
) -> None:
    """Collect a run's failed cases (flips first), cluster them, suggest a fix per cluster."""
    from pydantic import ValidationError

    from ftlineage.errors import BadInputError
    from ftlineage.pipeline import _failures as F
    from ftlineage.recipe import FailuresSpec
    from ftlineage.settings import Settings

    try:
        spec = FailuresSpec(
            against=against,
            pass_mark=pass_mark,
            min_cluster_size=min_cluster_size,
            fixer=fixer,
            fixer_options=_options(fixer_option or []),
            top=top,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BadInputError(
            f"--{str(err['loc'][0]).replace('_', '-')} {err['input']!r}: {err['msg']}"
        ) from None
    client, settings = _client(), Settings.from_env()
    files = F.mlflow_run_files(client, run_id)
    feed = F.build(
        files,
        spec,
        fixer=F.make_fixer(spec, settings.cache_dir, settings.gate_key),
        champion=lambda: F.mlflow_champion(client, run_id),
        canary=F.mlflow_canary(client, canary) if canary else None,
    )
    from ftlineage.failures import render_text

    typer.echo(render_text(feed, top), nl=False)
    folder = out or Path(f"failures-{run_id[:8]}")
    paths = F.write_feed(folder, feed)
    if log:
        for path in paths:
            client.log_artifact(run_id, str(path), F.FEED_DIR)
    typer.echo(
        f"feed: {paths[0]}, page: {paths[1]}" + (f" (logged to run {run_id} under failures/)" if log else "")
    )


@failures_app.command("freeze")
def freeze(
    run_id: Annotated[str, typer.Argument(help="the run whose feed holds the cluster")],
    cluster: Annotated[str, typer.Argument(help="the cluster's id (c1, c2...) or name")],
    suite: Annotated[Path, typer.Option(help="the suite folder to extend (yours, not a bundled one)")],
    part: Annotated[str, typer.Option(help="regression or regression_<name>")] = "regression",
) -> None:
    """Append a cluster's cases to a regression part of a suite and lock it (extend-only)."""
    from ftlineage import suites
    from ftlineage import tags as T
    from ftlineage.errors import BadInputError
    from ftlineage.failures import FailureFeed, freeze_cluster
    from ftlineage.pipeline import _failures as F
    from ftlineage.readers import parse_versioned

    client = _client()
    files = F.mlflow_run_files(client, run_id)
    text = files.read(f"{F.FEED_DIR}/feed.json")
    if not text:
        raise BadInputError(
            f"run {run_id} has no failures/feed.json; run `ftlineage failures {run_id}` first"
        )
    feed = parse_versioned(FailureFeed, text, f"run {run_id}: failures/feed.json")
    suite_name = client.get_run(run_id).data.tags.get(T.SUITE)
    try:
        run_suite = suites.load(suite_name) if suite_name else None
    except BadInputError:
        run_suite = None
    result = freeze_cluster(feed, cluster, suite, part=part, run_suite=run_suite)
    typer.echo(
        f"froze {len(result.added)} cases of {cluster} into {result.suite}/{result.part}.jsonl; "
        f"suite digest now {result.suite_sha[:12]}… (every next candidate is gated on {result.part}/*)"
    )
    for key, why in sorted(result.skipped.items()):
        typer.echo(f"  skipped {key}: {why}")
