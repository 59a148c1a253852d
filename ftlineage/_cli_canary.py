"""``ftlineage canary``: serve the live canary, replay recorded traffic, simulate its error rates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ftlineage.recipe import RegistrySpec

if TYPE_CHECKING:
    from ftlineage.canary import MonitorPolicy

_ALIASES = RegistrySpec()
canary_app = typer.Typer(no_args_is_help=True, help="Stage 4: the production canary.")

Split = Annotated[float, typer.Option(min=0.0, max=1.0, help="sticky share of keys sent to @challenger")]
Shadow = Annotated[float, typer.Option(min=0.0, max=1.0, help="share of requests both arms answer")]
Drop = Annotated[float, typer.Option(help="rubric drop in points (0-100) that alarms")]
Floor = Annotated[float, typer.Option(help="the challenger's win rate must stay above this")]
Sustain = Annotated[int, typer.Option(min=1, help="consecutive alarming pairs before a rollback")]


_FLAGS = {"drop_points": "--drop-points", "win_floor": "--win-floor", "sustain": "--sustain"}


def _policy(drop: float, floor: float, sustain: int, stable: int = 300) -> MonitorPolicy:
    """The monitor policy of the command's flags; a bad value is a one-line error naming its flag."""
    from pydantic import ValidationError

    from ftlineage.canary import MonitorPolicy
    from ftlineage.errors import BadInputError

    try:
        return MonitorPolicy(drop_points=drop, win_floor=floor, sustain=sustain, stable_pairs=stable)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        flag = _FLAGS.get(key, "--" + key.replace("_", "-"))
        raise BadInputError(f"{flag} {err['input']!r}: {err['msg']}; pass another value") from None


@canary_app.command("serve")
def canary_serve(
    model: Annotated[str, typer.Option(help="registered model with @champion and @challenger")],
    split: Split = 0.1,
    shadow: Shadow = 0.2,
    host: str = "127.0.0.1",
    port: int = 8600,
    judge: Annotated[str, typer.Option(help="arena judge for shadow pairs")] = "rubric",
    drop_points: Drop = 2.0,
    win_floor: Floor = 0.5,
    sustain: Sustain = 3,
    stable_pairs: Annotated[int, typer.Option(min=1, help="pairs without alarm before promotion")] = 300,
    promote_when_stable: Annotated[bool, typer.Option(help="move @champion once stable")] = False,
    suite: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="suite whose arena rubric scores answers (default: the challenger run's)"),
    ] = None,
    champion_alias: Annotated[str, typer.Option(help="alias of the serving model")] = _ALIASES.champion_alias,
    challenger_alias: Annotated[str, typer.Option(help="alias of the canary model")] = _ALIASES.alias,
    rolled_back_alias: Annotated[
        str, typer.Option(help="where a rolled-back challenger goes")
    ] = _ALIASES.rolled_back_alias,
) -> None:
    """Serve an OpenAI-style chat endpoint and /invocations in front of both models."""
    from ftlineage.canary import serve
    from ftlineage.gate.promotion import Aliases

    policy = _policy(drop_points, win_floor, sustain, stable_pairs)
    aliases = Aliases(challenger_alias, champion_alias, rolled_back_alias)
    serve(
        model,
        split=split,
        shadow=shadow,
        host=host,
        port=port,
        judge_name=judge,
        policy=policy,
        promote_when_stable=promote_when_stable,
        suite=suite,
        aliases=aliases,
    )


@canary_app.command("analysis")
def canary_analysis(
    suite: Annotated[str, typer.Option(help="suite NAME or DIR whose arena rubric scores answers")],
    champion_url: Annotated[
        Optional[str], typer.Option(help="the stable model service (mirrored requests)")  # noqa: UP045
    ] = None,
    challenger_url: Annotated[
        Optional[str], typer.Option(help="the canary model service (mirrored requests)")  # noqa: UP045
    ] = None,
    host: str = "127.0.0.1",
    port: int = 8700,
    judge: Annotated[str, typer.Option(help="arena judge for shadow pairs")] = "rubric",
    drop_points: Drop = 2.0,
    win_floor: Floor = 0.5,
    sustain: Sustain = 3,
    stable_pairs: Annotated[int, typer.Option(min=1, help="pairs without alarm before a pass verdict")] = 300,
    seed: int = 0,
) -> None:
    """Serve the canary verdict to Argo Rollouts (GET /analysis) and Flagger (webhooks), fed by the mesh."""
    import uvicorn

    from ftlineage import suites
    from ftlineage.arena import get_judge
    from ftlineage.canary import AnalysisService, Monitor, build_analysis_app

    loaded = suites.load(suite)
    service = AnalysisService(
        Monitor(_policy(drop_points, win_floor, sustain, stable_pairs)),
        get_judge(judge, suite=loaded),
        champion_url,
        challenger_url,
        seed=seed,
    )
    uvicorn.run(build_analysis_app(service), host=host, port=port, log_level="warning")


@canary_app.command("replay")
def canary_replay(
    traffic: Annotated[Path, typer.Argument(help="JSONL: key, prompt, champion, challenger per line")],
    split: Split = 0.1,
    shadow: Shadow = 0.2,
    seed: int = 0,
    judge: Annotated[str, typer.Option(help="arena judge for shadow pairs")] = "rubric",
    drop_points: Drop = 2.0,
    win_floor: Floor = 0.5,
    sustain: Sustain = 3,
    out: Annotated[Optional[Path], typer.Option(help="write the result JSON here")] = None,  # noqa: UP045
    suite: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="suite NAME or DIR whose arena rubric scores answers"),
    ] = None,
) -> None:
    """Run the router and monitor over recorded traffic; exit 0 no rollback, 4 rolled back."""
    from ftlineage import suites
    from ftlineage.arena import get_judge
    from ftlineage.canary import Router, read_traffic, replay

    result = replay(
        read_traffic(traffic),
        Router(split=split, shadow=shadow, seed=seed),
        get_judge(judge, suite=suites.load(suite) if suite else None),
        _policy(drop_points, win_floor, sustain),
    )
    if out:
        out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    s = result.status
    typer.echo(
        f"{result.requests} requests (champion {result.served['champion']}, challenger "
        f"{result.served['challenger']}, fallbacks {result.fallbacks}); {result.pairs} shadow pairs, "
        f"{s.unscored} unscored; win rate {s.win_rate:.3f} [{s.win_interval[0]:.3f}, {s.win_interval[1]:.3f}]"
    )
    if result.rollback_at_request is None:
        typer.echo("no rollback")
        return
    typer.echo(
        f"ROLLBACK at request {result.rollback_at_request} (pair {result.rollback_at_pair}): {result.alarm}"
    )
    raise typer.Exit(4)


@canary_app.command("simulate")
def canary_simulate(
    runs: Annotated[int, typer.Option(min=1, help="seeded runs per scenario")] = 200,
    requests: Annotated[int, typer.Option(min=1, help="requests per run")] = 1500,
    fault: Annotated[float, typer.Option(help="the degraded challenger's fault rate")] = 0.4,
    base_fault: Annotated[float, typer.Option(help="both arms' everyday fault rate")] = 0.1,
    split: Split = 0.1,
    shadow: Shadow = 0.2,
) -> None:
    """False-alarm rate (equal challenger) and detection delay (degraded challenger), printed."""
    from ftlineage.canary import alarm_study

    study = alarm_study(
        runs=runs, requests=requests, fault=fault, base_fault=base_fault, split=split, shadow=shadow
    )
    typer.echo(study.render())


traces_app = typer.Typer(no_args_is_help=True, help="Deliver traces kept on disk.")


@traces_app.command("sync")
def traces_sync(
    folder: Annotated[Optional[Path], typer.Option("--dir", help="outbox (default: work dir)")] = None,  # noqa: UP045
    project: Annotated[Optional[str], typer.Option(help="Weave project (default: each trace's)")] = None,  # noqa: UP045
) -> None:
    """Send pending Weave traces; exit 0 when none remains pending, 6 otherwise."""
    from ftlineage.settings import Settings
    from ftlineage.tracking import weave_sync as sync

    target = folder or Settings.from_env().work_dir / "weave-outbox"
    delivered, pending, reason = sync(target, project)
    typer.echo(
        f"delivered {delivered} trace(s); {pending} pending in {target}" + (f" ({reason})" if reason else "")
    )
    if pending:
        raise typer.Exit(6)
