"""Write suites: cases as JSONL, ``suite.yaml``, and the lock (with the extend-only rule)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ftlineage import readers as userfile
from ftlineage.errors import SuiteError
from ftlineage.suites._suite import LOCK_NAME, META_NAME, SuiteLock, compute_lock, read_meta


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """One canonical JSON object per line (sorted keys, UTF-8)."""
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")


def write_meta(path: Path, meta: Mapping[str, Any]) -> None:
    """Write ``suite.yaml`` (key order kept)."""
    path.mkdir(parents=True, exist_ok=True)
    plain = json.loads(json.dumps(dict(meta)))  # fresh objects: no YAML anchors for shared values
    (path / META_NAME).write_text(
        yaml.safe_dump(plain, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def _changed_cases(old: SuiteLock, new: SuiteLock) -> list[str]:
    problems = []
    for fname, cases in old.cases.items():
        now = new.cases.get(fname, {})
        for case_id, digest in cases.items():
            if case_id not in now:
                problems.append(f"case {case_id!r} was removed from {fname}")
            elif now[case_id] != digest:
                problems.append(f"case {case_id!r} in {fname} changed")
    return problems


def write_lock(path: Path) -> SuiteLock:
    """(Re)write ``suite.lock``.

    Under the same ``version``, existing cases may not change or go away (appending is fine):
    bump ``version`` in ``suite.yaml`` to change them.
    """
    meta = read_meta(path)
    lock = compute_lock(path, meta)
    lock_path = path / LOCK_NAME
    if lock_path.is_file():
        text = userfile.read_text(lock_path, "suite lock", SuiteError)
        try:
            old = SuiteLock.model_validate_json(text)
        except ValueError:
            old = None
        if old is not None and old.version == meta.version:
            problems = _changed_cases(old, lock)
            if problems:
                raise SuiteError(
                    f"{path / META_NAME}: {problems[0]}"
                    + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                    + f" under the same version {meta.version}; locked suites are extend-only: "
                    f"restore the case, or bump 'version' in suite.yaml and lock again"
                )
    lock_path.write_text(lock.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return lock


def write_bundled(
    path: Path,
    *,
    name: str,
    version: int,
    description: str,
    task: str,
    parts: Mapping[str, Any],
    files: Mapping[str, Iterable[Mapping[str, Any]]],
) -> SuiteLock:
    """Write a whole suite: ``suite.yaml`` (schema 2), each case file, and the lock."""
    meta = {"schema_version": 2, "name": name, "version": version, "description": description, "task": task}
    write_meta(path, {**meta, "parts": dict(parts)})
    for fname, rows in files.items():
        write_jsonl(path / fname, rows)
    return write_lock(path)
