"""The ``ftlineage`` command line. Every error is one line naming file, row and fix."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ftlineage import _cli_exit
from ftlineage import tags as T
from ftlineage._cli_canary import canary_app, traces_app
from ftlineage._cli_candidates import gate_run, status
from ftlineage._cli_failures import failures_app
from ftlineage._cli_registry import diff, promote, registry_app
from ftlineage._cli_score import score
from ftlineage._cli_stack import stack_app
from ftlineage._cli_suite import suite_app
from ftlineage._cli_train import sweep, train
from ftlineage.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, FtlineageError, TrackingUnreachable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Eval-gated, traceable LLM fine-tuning.",
)


def _show_version(value: bool) -> None:
    if value:
        from ftlineage import __version__

        typer.echo(f"ftlineage {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="print the version and exit", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """Eval-gated, traceable LLM fine-tuning."""


app.add_typer(suite_app, name="suite")
baseline_app = typer.Typer(no_args_is_help=True, help="Pin CI-gate baselines.")
app.add_typer(baseline_app, name="baseline")
arena_app = typer.Typer(no_args_is_help=True, help="Plan paired arena comparisons.")
app.add_typer(arena_app, name="arena")
app.add_typer(registry_app, name="registry")
app.command()(promote)
app.command()(diff)
app.add_typer(canary_app, name="canary")
app.add_typer(traces_app, name="traces")
app.add_typer(stack_app, name="stack")
app.add_typer(failures_app, name="failures")
app.command()(sweep)
app.command()(train)
app.command()(score)
app.command("gate-run")(gate_run)
app.command()(status)


def _fail_external_run(message: str) -> None:
    """Mark a run created by ``mlflow run`` as FAILED when we stop before starting it."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if not run_id:
        return
    from mlflow.tracking import MlflowClient

    from ftlineage.tracking import check_server

    try:
        check_server()  # not minutes of retries against a server that is not there
        client = MlflowClient()
        if client.get_run(run_id).info.status == "RUNNING":
            client.set_tag(run_id, T.ERROR, message[:500])
            client.set_terminated(run_id, "FAILED")
    except Exception:  # noqa: BLE001 - best effort: the error itself is already on stderr
        return


def _run_epilog() -> str:
    """Where a run's results go and what there is to run (read from the environment when shown)."""
    from ftlineage import suites

    store = (
        os.environ.get("MLFLOW_TRACKING_URI")
        or "sqlite:///mlflow.db (MLflow's default; set MLFLOW_TRACKING_URI)"
    )
    work = (
        os.environ.get("FTLINEAGE_WORK_DIR") or "ftlineage-work"
    )  # the epilog must not fail on bad settings
    recipes = sorted(p.stem for p in Path("recipes").glob("*.yaml")) if Path("recipes").is_dir() else []
    return (
        f"Results: the MLflow run in {store} (browse with `mlflow ui`); checkpoints, scores and reports "
        f"under {work}/<run id>/. Bundled suites: {', '.join(suites.bundled_names())}. "
        f"Recipes here: {', '.join(recipes) or 'none (pass --recipe FILE)'}. "
        "Exit 0 pass, 2 bad input, 3 audit blocked, 4 gate blocked."
    )


@app.command(epilog=_run_epilog())
def run(
    suite: Annotated[Optional[str], typer.Option(help="suite name; picks recipes/<suite>.yaml")] = None,  # noqa: UP045
    recipe: Annotated[Optional[str], typer.Option(help="recipe YAML (default: the suite's)")] = None,  # noqa: UP045
    engine: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="where checkpoint scoring and arena generation run: local or ray (RAY_ADDRESS)"),
    ] = None,
) -> None:
    """Run the main job: audit, fine-tune, score checkpoints, arena, gate, register."""
    from ftlineage.pipeline import run_job

    if engine is not None:
        from ftlineage.errors import BadInputError
        from ftlineage.settings import ENGINES

        if engine not in ENGINES:
            raise BadInputError(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
        os.environ["FTLINEAGE_ENGINE"] = engine

    result = run_job(recipe or None, suite or None)
    print_result(result)
    raise typer.Exit(result.exit_code)


def print_result(result: Any) -> None:
    """The end of a gated run on the terminal: verdict, reasons, tiers, version, where to look."""
    verdict = "PASS" if result.decision == "pass" else "BLOCKED"
    typer.echo(f"\nftlineage: {verdict} (run {result.run_id})")
    for reason in result.reasons:
        typer.echo(f"  - {reason}")
    for warning in result.warnings:
        typer.echo(f"  ! arena: {warning}")
    if result.failures:
        typer.echo(result.failures, nl=False)
    if result.tiers:
        typer.echo("\n  quantization tiers (gate/tiers/tiers.md):\n" + result.tiers)
    if result.version:
        typer.echo(f"  registered version {result.version} with its alias (see the registry)")
    elif result.decision == "pass":
        typer.echo(f"  not registered (registry.auto_register is off): ftlineage promote {result.run_id}")
    import mlflow

    typer.echo(f"  local outputs: {result.out_dir}")
    uri = mlflow.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        typer.echo(f"  browse: {uri}/#/experiments")
    else:
        typer.echo(f"  browse: mlflow ui --backend-store-uri {uri}")


@app.command()
def audit(
    corpus: Annotated[list[Path], typer.Argument(help="JSONL or Parquet file(s), or a saved HF dataset dir")],
    suite: Annotated[
        str, typer.Option(help="suite NAME or DIR whose cases must not leak")
    ] = "healthcare_v17",
    recipe: Annotated[Optional[Path], typer.Option(help="recipe holding the audit policy")] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="output folder")] = Path("audit-out"),
    engine: Annotated[str, typer.Option(help="local (process pool) or ray (Ray Data)")] = "local",
    workers: Annotated[int, typer.Option(help="parallel workers (0: FTLINEAGE_NUM_THREADS)")] = 0,
    seed: Annotated[int, typer.Option(help="seed for hashing and sampling (recorded)")] = 0,
    semantic: Annotated[Optional[bool], typer.Option(help="embedding dedup (default: the policy's)")] = None,  # noqa: UP045
    label_sample: Annotated[
        int, typer.Option(min=0, help="write a seeded sample of N labelled rows to relabel")
    ] = 0,
    relabels: Annotated[Optional[Path], typer.Option(help="a relabelled sample CSV to score")] = None,  # noqa: UP045
) -> None:
    """Audit a corpus before training. Exit 0 clean, 3 blocked by policy, 2 bad input."""
    from ftlineage import audit as audit_pkg
    from ftlineage import suites
    from ftlineage._util import staged_folder
    from ftlineage.errors import EXIT_AUDIT_BLOCKED, BadInputError
    from ftlineage.recipe import AuditPolicy, load_recipe

    if out.exists() and not out.is_dir():
        raise BadInputError(f"--out {out}: is a file, not a folder; pass a folder for the audit outputs")
    policy = load_recipe(recipe).audit if recipe else AuditPolicy()
    if semantic is not None:
        policy = policy.model_copy(update={"semantic": semantic})
    noise = audit_pkg.read_relabels(relabels) if relabels else None
    result = audit_pkg.audit_corpus(
        corpus,
        policy,
        suite_prompts=suites.load(suite).prompts(),
        seed=seed,
        engine=engine,
        workers=workers or None,
        label_noise=noise,
    )
    with staged_folder(out) as stage:  # all the outputs, or none if writing them fails
        audit_pkg.write_outputs(result, stage, label_sample=label_sample)
    report = result.report
    typer.echo(
        f"{report.verdict}: {report.rows_in} rows in, {report.rows_kept} kept, "
        f"{report.rows_malformed} malformed → {out}/report.html"
    )
    for reason in report.reasons:
        typer.echo(f"  - {reason}")
    raise typer.Exit(EXIT_AUDIT_BLOCKED if report.verdict == "blocked" else 0)


def _read_model(path: Path, model: Any, what: str) -> Any:
    from ftlineage import readers as userfile
    from ftlineage.errors import BadInputError

    if not path.is_file():
        raise BadInputError(f"{path}: {what} file not found")
    text = userfile.read_text(path, f"{what} file", limit=None)
    fix = f"pass a {what} file the job wrote"
    return userfile.parse_versioned(model, text, str(path), what=what, fix=fix)


@app.command()
def gate(
    candidate: Annotated[Path, typer.Option(help="candidate scores (scores/candidate.json of a run)")],
    baseline: Annotated[Path, typer.Option(help="baseline scores on the same suite digest")],
    arena: Annotated[Path, typer.Option(help="arena result (arena/arena.json)")],
    rule: Annotated[Optional[Path], typer.Option(help="gate rule YAML, or a recipe")] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="where to write the decision")] = Path("decision.json"),
) -> None:
    """Apply the promotion rule to score files. Exit 0 pass, 4 blocked, 2 bad input."""
    from pydantic import ValidationError

    from ftlineage import readers as userfile
    from ftlineage.arena import ArenaResult
    from ftlineage.errors import EXIT_GATE_BLOCKED, BadInputError
    from ftlineage.gate import decide_scores
    from ftlineage.gate.evidence import decision_digest
    from ftlineage.recipe import GateSpec
    from ftlineage.scoring import SuiteScores

    spec = GateSpec()
    if rule:
        raw, _ = userfile.load(rule, "gate rule")
        raw = raw.get("gate", raw) if isinstance(raw, dict) else raw
        try:
            spec = GateSpec.model_validate(raw if raw is not None else {})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "<top>"
            raise BadInputError(
                f"{rule}: not a gate rule ({where}: {err['msg']}); see the gate section of README.md"
            ) from None
    if not out.parent.is_dir():
        raise BadInputError(f"--out {out}: folder {out.parent} does not exist; create it or pick another")
    decision = decide_scores(
        spec,
        _read_model(candidate, SuiteScores, "scores"),
        _read_model(baseline, SuiteScores, "scores"),
        _read_model(arena, ArenaResult, "arena"),
        {},
    )
    out.write_text(decision.model_dump_json(indent=2), encoding="utf-8")
    typer.echo(
        f"{decision.decision}: {sum(c.passed for c in decision.checks)}/{len(decision.checks)} checks "
        f"passed; decision sha256 {decision_digest(decision)} → {out}"
    )
    for check in decision.failed:
        typer.echo(f"  - {check.reason}")
    raise typer.Exit(EXIT_GATE_BLOCKED if decision.decision == "blocked" else 0)


@arena_app.command("plan")
def arena_plan(
    effect: Annotated[float, typer.Option(help="smallest win-rate edge over 0.5 worth detecting")] = 0.1,
    confidence: Annotated[float, typer.Option(help="interval level the gate uses")] = 0.95,
    power: Annotated[float, typer.Option(help="chance to detect an edge of that size")] = 0.8,
    undecided: Annotated[float, typer.Option(help="expected share of ties and unscored pairs")] = 0.0,
    pairs: Annotated[int, typer.Option(help="pairs you plan to run (warns when too few)")] = 0,
) -> None:
    """How many arena comparisons an effect floor needs; warns when PAIRS is too few."""
    from ftlineage.arena import plan_comparisons

    try:
        need = plan_comparisons(effect, confidence=confidence, power=power, undecided=undecided)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(
        f"{need} pairs detect a win rate of {0.5 + effect:.2f} (interval above 0.5 at "
        f"{confidence:.0%}) with {power:.0%} power, allowing {undecided:.0%} ties/unscored"
    )
    if pairs and pairs < need:
        typer.echo(f"warning: {pairs} pairs are too few to decide; run at least {need}", err=True)


@baseline_app.command("pin")
def baseline_pin(
    model: Annotated[str, typer.Option(help="the champion: models:/name@alias or a model folder")] = (
        "models:/healthcare-postcall@champion"
    ),
    suite: Annotated[str, typer.Option(help="suite NAME or DIR")] = "healthcare_v17",
    slice_n: Annotated[
        int, typer.Option("--slice", help="seeded slice size (0 = all), as the gate runs it")
    ] = 50,
    recipe: Annotated[Path | None, typer.Option(help="recipe (prompt template for a model folder)")] = None,  # noqa: UP045
    out: Annotated[Path | None, typer.Option(help="baseline file (default baselines/<suite>.json)")] = None,  # noqa: UP045
) -> None:
    """Score the champion on the suite slice and write the baseline the CI gate compares with."""
    from ftlineage import suites
    from ftlineage.ci import load_candidate, pin, score, slice_suite
    from ftlineage.recipe import load_recipe

    full = suites.load(suite)
    template = load_recipe(recipe).prompt_template if recipe else None
    metrics, _ = score(load_candidate(model, template), slice_suite(full, slice_n))
    target = out or Path("baselines") / f"{full.meta.name}.json"
    pin(full, metrics, slice_n=slice_n, model=model, out=target)
    typer.echo(
        f"pinned {len(metrics)} metrics of {model} on {full.meta.name} "
        f"(digest {full.sha[:12]}, slice {slice_n}) → {target}"
    )


def _usage_errors() -> tuple[type[BaseException], ...]:
    """Click's usage errors: typer 0.29 raises its bundled click's, not the installed click's."""
    import click
    from typer._click import exceptions as typer_click

    return (click.ClickException, typer_click.ClickException)


def _usage_line(exc: BaseException) -> str:
    message = " ".join(str(getattr(exc, "format_message", exc.__str__)()).split())
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "ftlineage"
    return f"ftlineage: usage error: {message} (see '{command} --help')"


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every error into one line and a distinct exit code.

    Usage mistakes (unknown command or option, missing or bad argument, an argument that is not
    UTF-8) are one line and exit 2, like any other bad input; an unreadable or unwritable path
    given on the command line too. A bug is one line and exit 1; no traceback is ever printed
    (it is saved to a file the line names).
    """
    refused = _cli_exit.bad_argument(sys.argv[1:] if argv is None else argv)
    if refused:
        _cli_exit.say(refused)
        return EXIT_BAD_INPUT
    try:
        code = app(args=argv, prog_name="ftlineage", standalone_mode=False)
    except FtlineageError as exc:
        _cli_exit.say(f"ftlineage: error: {exc}")
        if exc.exit_code == EXIT_BAD_INPUT and not isinstance(exc, TrackingUnreachable):
            _fail_external_run(str(exc))
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _cli_exit.say("ftlineage: aborted")
        return 130
    except _usage_errors() as exc:
        from typer._click.exceptions import NoArgsIsHelpError

        if isinstance(exc, NoArgsIsHelpError):
            print(exc.format_message(), file=sys.stderr)
        else:
            _cli_exit.say(_usage_line(exc))
        return EXIT_BAD_INPUT
    except OSError as exc:  # a path from the command line that cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        _cli_exit.say(f"ftlineage: error: {where}{exc.strerror or exc}; check the path and its permissions")
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        return _foreign_error(exc)
    return int(code) if isinstance(code, int) else 0


def _foreign_error(exc: Exception) -> int:
    """An exception none of ours: an MLflow refusal of the user's value is bad input, else a bug."""
    line = _cli_exit.mlflow_bad_input(exc)
    if line:
        _cli_exit.say(line)
        _fail_external_run(line)
        return EXIT_BAD_INPUT
    _cli_exit.say(_cli_exit.crash_line(exc))
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
