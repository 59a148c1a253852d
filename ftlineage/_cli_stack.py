"""``ftlineage stack``: PostgreSQL, an S3 object store and the guarded tracking server, for development."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

stack_app = typer.Typer(no_args_is_help=True, help="The production stack on this machine (dev and tests).")


def _default_dir() -> Path:
    from ftlineage.settings import Settings

    return Settings.from_env().cache_dir / "stack"


Dir = Annotated[Path, typer.Option("--dir", help="where the stack keeps its data, logs and secrets")]


@stack_app.command("up")
def stack_up(
    dir: Dir = None,  # type: ignore[assignment]
    workers: Annotated[int, typer.Option(min=1, help="tracking server workers")] = 4,
    port: Annotated[int, typer.Option(min=0, help="tracking server port (0: a free one)")] = 5000,
) -> None:
    """Start the stack in the background and print how to use it.

    The guard verifies evidence with ``FTLINEAGE_GATE_KEY`` when it is set, else with a key
    generated into the stack's 0600 secrets file.
    """
    from ftlineage.settings import Settings
    from ftlineage.stack import up

    root = dir or _default_dir()
    key = Settings.from_env().gate_key
    stack = up(root, workers=workers, server_port=port or None, gate_key=key.decode() if key else None)
    typer.echo(json.dumps(stack.describe(), indent=2))
    typer.echo(f'use it:  eval "$(ftlineage stack env --dir {stack.root})"')


@stack_app.command("env")
def stack_env(dir: Dir = None) -> None:  # type: ignore[assignment]
    """Shell exports for a client of the stack (the gate key is read from its 0600 file, not printed)."""
    from ftlineage.stack import load

    stack = load(dir or _default_dir())
    typer.echo(f"export MLFLOW_TRACKING_URI={stack.tracking_uri}")
    secrets = stack.root / "secrets.json"
    read = f"import json; print(json.load(open({str(secrets)!r}))['gate_key'])"
    typer.echo(f'export FTLINEAGE_GATE_KEY="$(python -c "{read}")"')


@stack_app.command("status")
def stack_status(dir: Dir = None) -> None:  # type: ignore[assignment]
    """Which services answer; exit 7 when one does not."""
    from ftlineage.stack import EXIT_STACK, status

    state = status(dir or _default_dir())
    for name, ok in state.items():
        typer.echo(f"{name:<12} {'up' if ok else 'DOWN'}")
    if not all(state.values()):
        raise typer.Exit(EXIT_STACK)


@stack_app.command("down")
def stack_down(
    dir: Dir = None,  # type: ignore[assignment]
    purge: Annotated[bool, typer.Option(help="also delete the data (database, bucket, secrets)")] = False,
) -> None:
    """Stop the stack's services."""
    from ftlineage.stack import down

    down(dir or _default_dir(), purge=purge)
    typer.echo("stack down" + (" (data deleted)" if purge else ""))


__all__ = ["stack_app"]
