"""Freeze a failure cluster into a regression part of a suite, under the extend-only lock rule.

The cluster's cases are appended to ``<part>.jsonl`` (part ``regression`` by default, or
``regression_<name>``) as ``frozen-<case id>`` with the original case's reference and fields,
and the suite is locked again: appending is allowed under the same version, and from then on
editing or removing a frozen case is refused like any locked case. A new part copies the
scoring of the part its first case came from (held-out scorers, drift families, the arena's
reference-free scorers for arena and canary cases); every checkpoint of the next candidate
scores it and the gate tracks its metrics. A failed freeze leaves the suite as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftlineage import suites
from ftlineage.errors import SuiteError
from ftlineage.failures._feed import FailureFeed
from ftlineage.failures._items import FailedCase
from ftlineage.tasks import Case


@dataclass(frozen=True)
class FreezeResult:
    """What a freeze appended, and what it left out and why."""

    suite: Path
    part: str
    added: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)
    suite_sha: str = ""


def _origin(case: FailedCase) -> str:
    """The suite part whose scoring a frozen case keeps (canary pairs are scored like arena cases)."""
    return "arena" if case.stage == "canary" else case.part


def _part_spec(suite: suites.Suite, origin: str, part: str) -> dict[str, Any]:
    spec = suite.spec(origin)
    out: dict[str, Any] = {"file": f"{part}.jsonl", "max_new_tokens": spec.max_new_tokens}
    if spec.families:
        out["template"] = spec.template
        out["families"] = {
            k: v.model_dump(by_alias=True, exclude_defaults=True) for k, v in spec.families.items()
        }
    else:
        out["scorers"] = [s.model_dump(by_alias=True, exclude_defaults=True) for s in spec.scorers]
    return out


def _same_scoring(source: suites.Suite, origin: str, target: dict[str, Any]) -> bool:
    """Whether cases of ``origin`` are scored the same way in the ``target`` part spec."""
    mine, theirs = suites.PartSpec.model_validate(target), source.spec(origin)
    same_template = not mine.families or mine.template == theirs.template
    return (mine.scorers, mine.families) == (theirs.scorers, theirs.families) and same_template


def _row(case: FailedCase, originals: list[suites.Suite], cluster: str, run_id: str) -> dict[str, Any]:
    """The frozen case: the original case's row (reference, fields) under a new id, or the pair's prompt."""
    pool = [] if case.stage == "canary" else [c for s in originals for c in s.cases(_origin(case))]
    found: Case | None = next((c for c in pool if c.id == case.id), None)
    row = found.to_row() if found is not None else {"id": case.id, "prompt": case.prompt}
    tags = [*row.get("tags", []), f"failure-cluster:{cluster}", f"failure-run:{run_id}"]
    return {**row, "id": f"frozen-{case.id}", "tags": tags}


def _refuse_bundled(path: Path, meta: suites.SuiteMeta) -> None:
    if path.resolve().is_relative_to(suites.bundled_root().resolve()):
        raise SuiteError(f"{path}: a bundled suite cannot be extended; copy it to a folder of your own first")
    if (meta.name, meta.version) in suites.BUNDLED_DIGESTS:
        raise SuiteError(
            f"{path / suites.META_NAME}: suite {meta.name} v{meta.version} is a version ftlineage ships, "
            f"so its content cannot change; give your copy its own name (e.g. name: {meta.name}_regression) "
            "and lock it, then freeze into it"
        )


def freeze_cluster(
    feed: FailureFeed,
    cluster_id: str,
    suite_dir: Path,
    *,
    part: str = suites.REGRESSION,
    run_suite: suites.Suite | None = None,
) -> FreezeResult:
    """Append a cluster's cases to ``part`` of the suite in ``suite_dir`` and lock it again."""
    import yaml

    if not suites.is_regression(part):
        raise SuiteError(f"--part {part!r}: frozen cases go to 'regression' or 'regression_<name>'")
    cluster = feed.cluster(cluster_id)
    target = suites.load(str(suite_dir))  # verifies the lock first: an edited suite is never extended
    path = target.path
    _refuse_bundled(path, target.meta)
    raw = yaml.safe_load((path / suites.META_NAME).read_text(encoding="utf-8"))
    spec = raw["parts"].get(part)
    existing = {c.id for c in target.cases(part)}
    originals = [target, *([run_suite] if run_suite is not None else [])]
    rows, skipped = [], {}
    for case in feed.cases_of(cluster):
        origin = _origin(case)
        if case.stage == "audit":
            skipped[case.key] = "a training row the audit flagged, not a model failure: fix the data instead"
            continue
        source = next((s for s in originals if origin in s.specs), None)
        if source is None:
            skipped[case.key] = f"no suite at hand has a {origin!r} part to take its scoring from"
            continue
        if spec is None:
            spec = _part_spec(source, origin, part)
            raw["parts"][part] = spec
        if not _same_scoring(source, origin, spec):
            skipped[case.key] = (
                f"part {origin!r} is scored differently from {part!r}; freeze it into --part {part}_{origin}"
            )
            continue
        row = _row(case, originals, cluster.id, feed.run_id)
        if row["id"] in existing:
            skipped[case.key] = "already frozen"
            continue
        existing.add(row["id"])
        rows.append(row)
    if not rows:
        raise SuiteError(
            f"cluster {cluster.id} ({cluster.name}): nothing to freeze into {path}; "
            + ("; ".join(sorted(set(skipped.values()))) or "it has no cases")
        )
    lock = _write(path, raw, part, rows)
    return FreezeResult(path, part, tuple(r["id"] for r in rows), skipped, lock.suite_sha)


def _write(path: Path, raw: dict[str, Any], part: str, rows: list[dict[str, Any]]) -> suites.SuiteLock:
    """Append the rows, add the part to ``suite.yaml`` when new, lock; restore every file on failure."""
    files = [path / suites.META_NAME, path / f"{part}.jsonl", path / suites.LOCK_NAME]
    saved = {f: (f.read_bytes() if f.is_file() else None) for f in files}
    try:
        if saved[files[1]] is None:
            suites.write_meta(path, raw)
        with files[1].open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        lock = suites.write_lock(path)
        suites.load(str(path))
        return lock
    except BaseException:
        for f, data in saved.items():
            if data is None:
                f.unlink(missing_ok=True)
            else:
                f.write_bytes(data)
        raise
