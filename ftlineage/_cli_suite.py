"""``ftlineage suite``: create, lock, verify, show, list and (maintainers) build eval suites."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ftlineage.errors import SuiteError

suite_app = typer.Typer(no_args_is_help=True, help="Create, lock, verify and inspect eval suites.")
logger = logging.getLogger(__name__)


def _read_any(path: Path) -> str:
    """A cases file as JSONL text: JSONL as is, Parquet or a saved HF dataset converted.

    Non-JSONL files go through the corpus reader's :func:`ftlineage.data._stream.table_rows`.
    """
    from ftlineage import readers as userfile
    from ftlineage.data import table_rows
    from ftlineage.errors import CorpusError

    try:
        rows = table_rows(path)
    except CorpusError as exc:
        raise SuiteError(str(exc).replace("corpus", "cases file")) from None
    if rows is None:
        return userfile.read_text(path, "cases", SuiteError, limit=None)
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) + "\n" for r in rows)


def _copy_cases(src: Path, dest: Path) -> int:
    """Validate ``src`` as cases (errors name its file and line) and write it to ``dest`` as JSONL."""
    from ftlineage.tasks import read_cases

    text = _read_any(src)
    cases = read_cases(text, str(src))
    if not cases:
        raise SuiteError(
            f"{src}: no cases; write one JSON object per line with 'id' and 'prompt' or 'messages'"
        )
    if src.suffix in (".jsonl", ".json") and src.is_file():
        shutil.copyfile(src, dest)  # byte-identical: the lock hashes what the user wrote
    else:
        dest.write_text(text, encoding="utf-8")
    return len(cases)


def _scorer_specs(scorer: list[str], task: str | None) -> tuple[list[Any], dict[str, Any]]:
    from ftlineage.tasks import ScorerSpec, get_task, parse_scorer_arg

    if scorer:
        return [parse_scorer_arg(s) for s in scorer], {}
    if task:
        parts = get_task(task).parts()
        held = dict(parts.get("heldout", {}))
        return [ScorerSpec.model_validate(s) for s in held.get("scorers", [])], dict(parts)
    raise SuiteError(
        "name at least one --scorer NAME[:key=value,...] (or --task NAME); see `ftlineage suite new --help`"
    )


def _arena_part(specs: list[Any], arena_file: Path, task_parts: dict[str, Any]) -> dict[str, Any]:
    from ftlineage.tasks import build_scorer, read_cases

    if "arena" in task_parts:
        return {"file": "arena.jsonl", **task_parts["arena"]}
    free = [s for s in specs if build_scorer(s).reference_free]
    cases = read_cases(arena_file.read_text(encoding="utf-8"), str(arena_file))
    if not free and not any(c.reference is not None for c in cases):
        typer.echo(
            "warning: the arena cases have no reference and no chosen scorer is reference-free, so the "
            "'rubric' judge cannot score them; add a reference-free scorer (json_valid, json_schema, "
            "grounded, regex, label with labels) or use a model judge (arena.judge: openai)",
            err=True,
        )
    chosen = free or specs
    return {
        "file": "arena.jsonl",
        "scorers": [s.model_dump(by_alias=True, exclude_defaults=True) for s in chosen],
    }


@suite_app.command("new")
def suite_new(
    directory: Annotated[Path, typer.Argument(help="the new suite's directory")],
    name: Annotated[str, typer.Option(help="suite name (with its version, it identifies the content)")],
    heldout: Annotated[Path, typer.Option(help="held-out cases: JSONL (or .parquet, or a saved HF dataset)")],
    scorer: Annotated[
        list[str], typer.Option(help="NAME[:key=value,...], repeatable (see `ftlineage suite scorers`)")
    ] = [],  # noqa: B006
    arena: Annotated[Optional[Path], typer.Option(help="arena pool (default: the held-out cases)")] = None,  # noqa: UP045
    drift: Annotated[
        str, typer.Option(help="drift suite NAME, or a JSONL of general-family cases")
    ] = "general_v1",
    task: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="take scorers, gate metrics and rubric from a task"),
    ] = None,
    version: Annotated[int, typer.Option(help="suite version")] = 1,
    description: str = "",
    max_new_tokens: Annotated[int, typer.Option(help="generation budget per held-out/arena answer")] = 64,
) -> None:
    """Copy cases into DIRECTORY, write suite.yaml and the lock, and print the digest.

    Nothing is written to DIRECTORY unless every file is valid: the suite is built and loaded in
    a staging folder first.
    """
    from ftlineage._util import staged_folder

    if (directory / "suite.yaml").exists():
        raise SuiteError(
            f"{directory}: already holds a suite.yaml; edit it and run `ftlineage suite lock {directory}`"
        )
    if directory.exists() and not directory.is_dir():
        raise SuiteError(f"{directory}: is a file, not a folder; pass a folder for the new suite")
    specs, task_parts = _scorer_specs(scorer, task)
    with staged_folder(directory) as stage:
        try:
            n_held, suite = _build_suite(
                stage,
                name,
                heldout,
                specs,
                task_parts,
                arena,
                drift,
                task,
                version,
                description,
                max_new_tokens,
            )
        except SuiteError as exc:  # name the folder the user asked for, not the staging one
            raise SuiteError(str(exc).replace(str(stage), str(directory))) from None
    typer.echo(f"{name} v{version}: {n_held} held-out cases, scorers {', '.join(s.name for s in specs)}")
    typer.echo(f"metrics: {', '.join(sorted(suite.produced_metrics()))}")
    typer.echo(f"suite sha256 {suite.sha}")


def _build_suite(
    directory: Path,
    name: str,
    heldout: Path,
    specs: list[Any],
    task_parts: dict[str, Any],
    arena: Path | None,
    drift: str,
    task: str | None,
    version: int,
    description: str,
    max_new_tokens: int,
) -> tuple[int, Any]:
    """Write a suite's cases, ``suite.yaml`` and lock into ``directory``; load it as a run would."""
    from ftlineage import suites
    from ftlineage.suites import write_lock, write_meta
    from ftlineage.tasks import default_gate
    from ftlineage.tasks.general import drift_part

    n_held = _copy_cases(heldout, directory / "heldout.jsonl")
    held_part: dict[str, Any] = {
        "file": "heldout.jsonl",
        "max_new_tokens": max_new_tokens,
        "scorers": [s.model_dump(by_alias=True, exclude_defaults=True) for s in specs],
        "gate": task_parts.get("heldout", {}).get("gate")
        or [g.model_dump() for g in default_gate("heldout", specs)],
    }
    parts: dict[str, Any] = {"heldout": held_part}
    if drift in suites.bundled_names() or (Path(drift) / "suite.yaml").is_file():
        parts["drift"] = {"suite": drift}
    else:
        _copy_cases(Path(drift), directory / "drift.jsonl")
        parts["drift"] = drift_part()
    if arena is not None:
        _copy_cases(arena, directory / "arena.jsonl")
        parts["arena"] = {
            **_arena_part(specs, directory / "arena.jsonl", task_parts),
            "max_new_tokens": max_new_tokens,
        }
    meta = {"schema_version": 2, "name": name, "version": version, "description": description}
    write_meta(directory, {**meta, **({"task": task} if task else {}), "parts": parts})
    write_lock(directory)
    return n_held, suites.load(str(directory))  # every check a run makes, now


@suite_app.command("lock")
def suite_lock(directory: Path) -> None:
    """(Re)write DIRECTORY's lock; existing cases may not change under the same version.

    A suite that does not load with the new lock (a bad scorer option, say) keeps its old lock.
    """
    from ftlineage import suites
    from ftlineage.suites import LOCK_NAME, write_lock

    if not (directory / "suite.yaml").is_file():
        raise SuiteError(f"{directory}: no suite.yaml; create a suite with `ftlineage suite new`")
    lock_file = directory / LOCK_NAME
    previous = lock_file.read_bytes() if lock_file.is_file() else None
    lock = write_lock(directory)
    try:
        suites.load(str(directory))
    except SuiteError:
        if previous is None:
            lock_file.unlink(missing_ok=True)
        else:
            lock_file.write_bytes(previous)
        raise
    typer.echo(f"{lock.name} v{lock.version}: locked, suite sha256 {lock.suite_sha}")


@suite_app.command("verify")
def suite_verify(name: str) -> None:
    """Check every byte of a suite (NAME or DIR) against its lock file."""
    from ftlineage import suites

    lock = suites.verify(name)
    suites.load(name)
    typer.echo(f"{lock.name} v{lock.version}: OK, suite sha256 {lock.suite_sha}")


@suite_app.command("show")
def suite_show(name: str) -> None:
    """Parts, case counts, scorers, metrics, gate metrics and digest of a suite (NAME or DIR)."""
    from ftlineage import suites

    s = suites.load(name)
    typer.echo(f"{s.meta.name} v{s.meta.version}  sha256 {s.sha}")
    if s.meta.description:
        typer.echo(f"  {s.meta.description}")
    for part in suites.PARTS:
        if part not in s.specs:
            continue
        spec, (source, _) = s.specs[part], s.part_source(part)
        typer.echo(f"{part}: {len(getattr(s, part))} cases from {source}")
        for sc in spec.scorers:
            typer.echo(f"  scorer {sc.name} {json.dumps(sc.options) if sc.options else ''}".rstrip())
        for fam, sc in spec.families.items():
            typer.echo(f"  family {fam}: {sc.name}")
    typer.echo("metrics: " + ", ".join(sorted(s.produced_metrics())))
    typer.echo("gate: " + ", ".join(f"{m.metric} ({m.direction})" for m in s.gate_metrics()))


@suite_app.command("scorers")
def suite_scorers() -> None:
    """List the installed scorers and what each scores."""
    from ftlineage.tasks import available_scorers

    for name, ep in sorted(available_scorers().items()):
        doc = (ep.load().__doc__ or "").strip().splitlines()
        typer.echo(f"{name:<20} {doc[0] if doc else ''}")


@suite_app.command("list")
def suite_list() -> None:
    """List the bundled suites: version, digest (first 12 of its SHA-256) and cases per part."""
    from ftlineage import suites

    typer.echo(f"{'suite':<20} {'version':>7}  {'digest':<12}  {'heldout':>7} {'drift':>5} {'arena':>5}")
    for name in suites.bundled_names():
        s = suites.load(name)
        counts = f"{len(s.heldout):>7} {len(s.drift):>5} {len(s.arena):>5}"
        typer.echo(f"{s.meta.name:<20} {s.meta.version:>7}  {s.sha[:12]}  {counts}")


@suite_app.command("build")
def suite_build(name: str, out: Path) -> None:
    """(Maintainers) regenerate a bundled suite's files and lock into OUT."""
    from ftlineage.tasks import build_suite

    build_suite(name, out)
    typer.echo(f"built {name} into {out}")
