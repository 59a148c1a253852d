"""The ``ftlineage`` command line. Every error is one line naming file, row and fix."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ftlineage.errors import EXIT_BAD_INPUT, FtlineageError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Eval-gated, traceable LLM fine-tuning.")
suite_app = typer.Typer(no_args_is_help=True, help="Inspect, verify and build eval suites.")
app.add_typer(suite_app, name="suite")


def _fail_external_run(message: str) -> None:
    """Mark a run created by ``mlflow run`` as FAILED when we stop before starting it."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if not run_id:
        return
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_tag(run_id, "ftlineage.error", message[:500])
        client.set_terminated(run_id, "FAILED")


@app.command()
def run(
    suite: Annotated[Optional[str], typer.Option(help="suite name; picks recipes/<suite>.yaml")] = None,  # noqa: UP045
    recipe: Annotated[Optional[str], typer.Option(help="recipe YAML (default: the suite's)")] = None,  # noqa: UP045
) -> None:
    """Run the main job: audit, fine-tune, score checkpoints, arena, gate, register."""
    from ftlineage.pipeline import run_job

    result = run_job(recipe or None, suite or None)
    verdict = "PASS" if result.decision == "pass" else "BLOCKED"
    typer.echo(f"\nftlineage: {verdict} (run {result.run_id})")
    for reason in result.reasons:
        typer.echo(f"  - {reason}")
    if result.version:
        typer.echo(f"  registered version {result.version} with its alias (see the registry)")
    import mlflow

    typer.echo(f"  local outputs: {result.out_dir}")
    typer.echo(f"  browse: mlflow ui --backend-store-uri {mlflow.get_tracking_uri()}")
    raise typer.Exit(result.exit_code)


@app.command()
def audit(
    corpus: Annotated[list[Path], typer.Argument(help="JSONL corpus file(s)")],
    suite: Annotated[str, typer.Option(help="suite whose cases must not leak")] = "healthcare_v17",
    recipe: Annotated[Optional[Path], typer.Option(help="recipe holding the audit policy")] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="output folder")] = Path("audit-out"),
) -> None:
    """Audit a corpus: dedup, leakage, secrets/PII, refusal contamination. Exit 3 if blocked."""
    from ftlineage import audit as audit_pkg
    from ftlineage import lineage, suites
    from ftlineage.data import read_corpus
    from ftlineage.errors import EXIT_AUDIT_BLOCKED
    from ftlineage.recipe import AuditPolicy, load_recipe

    policy = load_recipe(recipe).audit if recipe else AuditPolicy()
    s = suites.load(suite)
    rows = read_corpus(corpus)
    prompts = [c["prompt"] for part in (s.heldout, s.drift, s.arena) for c in part]
    report, kept = audit_pkg.run_audit(rows, prompts, policy, seed=0,
                                       corpus_sha=lineage.sha256_rows(rows, domain="corpus"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(report.model_dump_json(indent=2))
    (out / "report.md").write_text(audit_pkg.render_markdown(report))
    (out / "flags.jsonl").write_text("".join(f.model_dump_json() + "\n" for f in report.flagged))
    (out / "clean.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    typer.echo(f"{report.verdict}: {report.rows_in} rows in, {report.rows_kept} kept → {out}")
    for reason in report.reasons:
        typer.echo(f"  - {reason}")
    raise typer.Exit(EXIT_AUDIT_BLOCKED if report.verdict == "blocked" else 0)


@suite_app.command("verify")
def suite_verify(name: str) -> None:
    """Check every byte of a suite against its lock file."""
    from ftlineage import suites

    lock = suites.verify(name)
    typer.echo(f"{lock.name} v{lock.version}: OK, suite sha256 {lock.suite_sha}")


@suite_app.command("list")
def suite_list() -> None:
    """List the bundled suites."""
    from ftlineage import suites

    for name in suites.bundled_names():
        typer.echo(name)


@suite_app.command("build")
def suite_build(name: str, out: Path) -> None:
    """(Maintainers) regenerate a bundled suite's files and lock into OUT."""
    from ftlineage.suites._build import BUILDERS

    if name not in BUILDERS:
        raise FtlineageError(f"no builder for suite {name!r}; known: {', '.join(BUILDERS)}")
    BUILDERS[name](out)
    typer.echo(f"built {name} into {out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning our errors into one line and a distinct exit code."""
    try:
        code = app(args=argv, standalone_mode=False)
    except FtlineageError as exc:
        print(f"ftlineage: error: {exc}", file=sys.stderr)
        if exc.exit_code == EXIT_BAD_INPUT:
            _fail_external_run(str(exc))
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return EXIT_BAD_INPUT
        raise
    return int(code) if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
