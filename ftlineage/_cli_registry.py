"""``ftlineage promote`` and ``ftlineage registry``: the registry transition is the deploy gate."""

from __future__ import annotations

import re
from typing import Annotated, Any, Optional

import typer

from ftlineage.recipe import RegistrySpec

registry_app = typer.Typer(no_args_is_help=True, help="Inspect and repair registry state.")


def _registry() -> Any:
    from ftlineage.tracking import MlflowRegistry

    return MlflowRegistry.connect()


def _registry_for(name: str) -> Any:
    """The model registry, or the Prompt Registry when ``name`` is a registered prompt."""
    from ftlineage.tracking import PromptRegistry

    models = _registry()
    prompts = PromptRegistry(models.client)
    return prompts if prompts.exists(name) else models


def _refused(exc: Exception) -> Exception:
    """A guard refusal (HTTP 403) as our error, with the server's reason."""
    from mlflow.exceptions import MlflowException

    from ftlineage.errors import PromotionRefused

    if isinstance(exc, MlflowException) and exc.error_code == "PERMISSION_DENIED":
        return PromotionRefused(f"the registry guard refused: {exc.message}")
    return exc


def _run_tags(registry: Any, run_id: str) -> dict[str, str]:
    from ftlineage.errors import BadInputError

    tags = registry.run_tags(run_id)
    if tags is None:
        raise BadInputError(f"promote: no run {run_id!r} in {registry.uri}; pass the run id the job printed")
    return dict(tags)


def _version_exists(registry: Any, name: str, version: str) -> None:
    from ftlineage.errors import BadInputError

    if registry.get_version(name, version) is None:
        raise BadInputError(f"promote: {name!r} has no version {version}; see the registry")


_DEFAULT_ALIASES = RegistrySpec()


def promote(
    run_id: Annotated[Optional[str], typer.Argument(help="a main-job run that passed the gate")] = None,  # noqa: UP045
    to: Annotated[
        str, typer.Option(help="the challenger alias (register the run) or the champion alias (move it)")
    ] = _DEFAULT_ALIASES.alias,
    model: Annotated[Optional[str], typer.Option(help="registered model (default: the run's)")] = None,  # noqa: UP045
    version: Annotated[str | None, typer.Option(help="for the champion (default: the challenger's)")] = None,  # noqa: UP045
    expect_version: Annotated[str | None, typer.Option(help="the champion's version now, or 'none'")] = None,  # noqa: UP045
    stages: Annotated[bool, typer.Option(help="also make legacy stage transitions")] = False,
    champion_alias: Annotated[
        str, typer.Option(help="the protected alias")
    ] = _DEFAULT_ALIASES.champion_alias,
) -> None:
    """Register a passing run as the challenger, or move the champion to a version with verified evidence.

    Exit 0 done, 4 refused (blocked run, evidence that does not verify, guard refusal),
    5 another promotion moved the alias first, 2 bad input.
    """
    from ftlineage import tags as T
    from ftlineage.errors import BadInputError
    from ftlineage.gate.evidence import gate_key
    from ftlineage.gate.promotion import Aliases, check_evidence, current_version, move_alias, register_run

    if version is not None and not re.fullmatch(r"[1-9][0-9]{0,17}", version):  # never int() of 10**5 digits
        raise BadInputError(f"promote --version {version!r}: a version is a whole number such as 3")
    tags = _run_tags(_registry(), run_id) if run_id else {}
    name = model or tags.get(T.REGISTRY_MODEL_NAME)
    if not name:
        raise BadInputError("promote: pass --model NAME (or a RUN_ID of the main job, which records it)")
    registry = _registry_for(name)  # a prompt moves through the same ledger and evidence check
    challenger = tags.get(T.REGISTRY_ALIAS, _DEFAULT_ALIASES.alias)
    aliases = Aliases(challenger, champion_alias, _DEFAULT_ALIASES.rolled_back_alias)
    stages = stages or tags.get(T.REGISTRY_STAGES) == "True"
    try:
        if to == champion_alias:
            v: str | None = version or current_version(registry, name, aliases.challenger)
            if not v:
                raise BadInputError(
                    f"promote --to {to}: {name!r} has no @{aliases.challenger}; pass --version N"
                )
            _version_exists(registry, name, v)
            note = check_evidence(registry, name, v, gate_key())
            stage = aliases.stage(to) if stages else None
            entry = move_alias(
                registry, name, to, v, expect=expect_version, why=note, stage=stage, key=gate_key()
            )
            typer.echo(f"{name} v{v} is @{to} ({note}; ledger {entry})")
            return
        if to not in (challenger, _DEFAULT_ALIASES.alias):
            raise BadInputError(f"promote --to {to!r}: use {challenger!r} or {champion_alias!r}")
        if not run_id:
            raise BadInputError(f"promote --to {to}: pass the RUN_ID to register")
        stage = aliases.stage(challenger) if stages else None
        if tags.get(T.CANDIDATE_KIND) == "prompt":
            from ftlineage.gate.promotion import register_prompt_run
            from ftlineage.tracking import PromptRegistry

            prompts = PromptRegistry(_registry().client)
            reg = register_prompt_run(prompts, run_id, name=name, alias=challenger, key=gate_key())
        else:
            reg = register_run(registry, run_id, name=name, alias=challenger, key=gate_key(), stage=stage)
    except Exception as exc:
        raise _refused(exc) from None
    typer.echo(f"{name} v{reg} is @{challenger}")


@registry_app.command("check")
def registry_check(
    name: str,
    clean: Annotated[bool, typer.Option(help="delete versions a crashed promotion left unaliased")] = False,
) -> None:
    """Report versions registered but never aliased (a crash mid-promotion); --clean deletes them."""
    from ftlineage.gate.promotion import clean_half_promoted, half_promoted

    registry = _registry()
    orphans, aliased = clean_half_promoted(registry, name) if clean else half_promoted(registry, name)
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
    from ftlineage.tracking import snapshot

    client = _registry().client
    result = diff_runs(snapshot(client, run_a), snapshot(client, run_b))
    typer.echo(render_text(result), nl=False)
    path = Path(out or f"diff-{run_a[:8]}-{run_b[:8]}.html")
    path.write_text(render_html(result), encoding="utf-8")
    if log:
        client.log_artifact(run_b, str(path), "diff")
    typer.echo(f"HTML report: {path}" + (f" (logged to run {run_b} under diff/)" if log else ""))
