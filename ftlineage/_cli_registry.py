"""``ftlineage promote`` and ``ftlineage registry``: the registry transition is the deploy gate."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

registry_app = typer.Typer(no_args_is_help=True, help="Inspect and repair registry state.")

REGISTRY_TAGS = ("ftlineage.registry.model_name", "ftlineage.registry.alias", "ftlineage.registry.stages")


def _client() -> Any:
    from mlflow.tracking import MlflowClient

    from ftlineage.tracking import init_store

    return MlflowClient(init_store())


def _refused(exc: Exception) -> Exception:
    """A guard refusal (HTTP 403) as our error, with the server's reason."""
    from mlflow.exceptions import MlflowException

    from ftlineage.errors import PromotionRefused

    if isinstance(exc, MlflowException) and exc.error_code == "PERMISSION_DENIED":
        return PromotionRefused(f"the registry guard refused: {exc.message}")
    return exc


def _run_tags(client: Any, run_id: str) -> dict[str, str]:
    from mlflow.exceptions import MlflowException

    from ftlineage.errors import BadInputError

    try:
        return dict(client.get_run(run_id).data.tags)
    except MlflowException:
        raise BadInputError(
            f"promote: no run {run_id!r} in {client.tracking_uri}; pass the run id the job printed"
        ) from None


def _version_exists(client: Any, name: str, version: str) -> None:
    from mlflow.exceptions import MlflowException

    from ftlineage.errors import BadInputError

    try:
        client.get_model_version(name, version)
    except MlflowException:
        raise BadInputError(f"promote: {name!r} has no version {version}; see the registry") from None


def promote(
    run_id: Annotated[Optional[str], typer.Argument(help="a main-job run that passed the gate")] = None,  # noqa: UP045
    to: Annotated[str, typer.Option(help="challenger (register the run) or champion (move @champion)")] = (
        "challenger"
    ),
    model: Annotated[Optional[str], typer.Option(help="registered model (default: the run's)")] = None,  # noqa: UP045
    version: Annotated[Optional[str], typer.Option(help="for --to champion (default @challenger)")] = None,  # noqa: UP045
    expect_version: Annotated[Optional[str], typer.Option(help="@champion's version now, or 'none'")] = None,  # noqa: UP045
    stages: Annotated[bool, typer.Option(help="also make legacy stage transitions")] = False,
) -> None:
    """Register a passing run as @challenger, or move @champion to a version with verified evidence.

    Exit 0 done, 4 refused (blocked run, evidence that does not verify, guard refusal),
    5 another promotion moved the alias first, 2 bad input.
    """
    from ftlineage.errors import BadInputError
    from ftlineage.gate.evidence import gate_key
    from ftlineage.tracking._promote import check_evidence, current_version, move_alias, register_run

    if version is not None and not (version.isdigit() and int(version) > 0):
        raise BadInputError(f"promote --version {version!r}: a version is a whole number such as 3")
    client = _client()
    tags = _run_tags(client, run_id) if run_id else {}
    name = model or tags.get(REGISTRY_TAGS[0])
    if not name:
        raise BadInputError("promote: pass --model NAME (or a RUN_ID of the main job, which records it)")
    stages = stages or tags.get(REGISTRY_TAGS[2]) == "True"
    try:
        if to == "challenger":
            if not run_id:
                raise BadInputError("promote --to challenger: pass the RUN_ID to register")
            alias = tags.get(REGISTRY_TAGS[1], "challenger")
            reg = register_run(client, run_id, name=name, alias=alias, key=gate_key(), stage=stages)
            typer.echo(f"{name} v{reg} is @{alias}")
            return
        if to != "champion":
            raise BadInputError(f"promote --to {to!r}: use 'challenger' or 'champion'")
        v: str | None = version or current_version(client, name, "challenger")
        if not v:
            raise BadInputError(f"promote --to champion: {name!r} has no @challenger; pass --version N")
        _version_exists(client, name, v)
        note = check_evidence(client, name, v, gate_key())
        entry = move_alias(client, name, "champion", v, expect=expect_version, why=note, stage=stages)
    except Exception as exc:
        raise _refused(exc) from None
    typer.echo(f"{name} v{v} is @champion ({note}; ledger {entry})")


@registry_app.command("check")
def registry_check(
    name: str,
    clean: Annotated[bool, typer.Option(help="delete versions a crashed promotion left unaliased")] = False,
) -> None:
    """Report versions registered but never aliased (a crash mid-promotion); --clean deletes them."""
    from ftlineage.tracking._registry import clean_half_promoted, half_promoted

    client = _client()
    orphans, aliased = clean_half_promoted(client, name) if clean else half_promoted(client, name)
    if not orphans and not aliased:
        typer.echo(f"{name}: no half-promoted version")
        return
    if orphans:
        verb = "deleted" if clean else "found"
        typer.echo(f"{name}: {verb} half-promoted versions {', '.join(orphans)} (registered, never aliased)")
    if aliased:
        verb = "marked done" if clean else "found (--clean marks them done; they are never deleted)"
        typer.echo(f"{name}: aliased versions missing their done mark {', '.join(aliased)}: {verb}")


def diff(
    run_a: Annotated[str, typer.Argument(help="the earlier run (the reference)")],
    run_b: Annotated[str, typer.Argument(help="the run to explain")],
    out: Annotated[Optional[str], typer.Option(help="HTML report path (default diff-<A>-<B>.html)")] = None,  # noqa: UP045
    log: Annotated[bool, typer.Option(help="also log the HTML report to run B under diff/")] = True,
) -> None:
    """Which SHAs changed between two runs, metric deltas with intervals, and flipped cases."""
    from pathlib import Path

    from ftlineage.compare import diff_runs, render_html, render_text
    from ftlineage.tracking._snapshot import snapshot

    client = _client()
    result = diff_runs(snapshot(client, run_a), snapshot(client, run_b))
    typer.echo(render_text(result), nl=False)
    path = Path(out or f"diff-{run_a[:8]}-{run_b[:8]}.html")
    path.write_text(render_html(result), encoding="utf-8")
    if log:
        client.log_artifact(run_b, str(path), "diff")
    typer.echo(f"HTML report: {path}" + (f" (logged to run {run_b} under diff/)" if log else ""))
