"""Versioned, locked eval suites.

A suite is a directory with ``suite.yaml`` (metadata), three JSONL parts
(``heldout``, ``drift``, ``arena``) and ``suite.lock``: the full SHA-256 of every file
and one suite digest over them. Loading a suite verifies the lock first, so a suite
whose bytes changed can never be scored silently.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ftlineage import _userfile as userfile
from ftlineage.errors import SuiteError
from ftlineage.lineage import sha256_file, sha256_json

PARTS = ("heldout", "drift", "arena")
# The digest of every bundled suite version this package ships. A suite carrying one of these
# names and versions with any other content is refused wherever it comes from: a name and a
# version identify one content. A maintainer who changes a bundled suite bumps its version.
BUNDLED_DIGESTS: dict[tuple[str, int], str] = {
    ("healthcare_v17", 17): "952d880738d613c8c05f027d5a47226ed10387f8275689b5f55dd4d6f016b94e",
}
LOCK_NAME = "suite.lock"
META_NAME = "suite.yaml"


class SuiteMeta(BaseModel):
    """``suite.yaml``: what the suite is and how its parts are prompted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: int
    description: str
    task: str
    rubric_version: str
    drift_template: str
    families: tuple[str, ...]
    max_new_tokens: dict[str, int]


class SuiteLock(BaseModel):
    """``suite.lock``: per-file SHA-256 and the suite digest. Field order is frozen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    name: str
    version: int
    files: dict[str, str]
    suite_sha: str


class Suite(BaseModel):
    """A loaded, verified suite."""

    model_config = ConfigDict(frozen=True)

    meta: SuiteMeta
    lock: SuiteLock
    path: Path
    heldout: tuple[dict[str, Any], ...]
    drift: tuple[dict[str, Any], ...]
    arena: tuple[dict[str, Any], ...]

    @property
    def sha(self) -> str:
        """The suite digest (same function as the lock)."""
        return self.lock.suite_sha

    def prompts(self) -> dict[str, str]:
        """Every prompt of every part, named ``part#index``: what must not leak into training."""
        return {f"{part}#{i}": case["prompt"] for part in PARTS for i, case in enumerate(getattr(self, part))}


def bundled_root() -> Path:
    """Directory holding the suites shipped inside the package."""
    return Path(str(resources.files("ftlineage.suites") / "data"))


def bundled_names() -> list[str]:
    """Names of the bundled suites."""
    return sorted(p.name for p in bundled_root().iterdir() if (p / META_NAME).is_file())


def resolve(name_or_dir: str) -> Path:
    """Map a bundled suite name or a suite directory to its path.

    A bundled suite's name always means the bundled suite, even when a folder of that name
    sits in the working directory; pass a path (``./NAME``) to mean the folder.
    """
    if name_or_dir in bundled_names():
        return bundled_root() / name_or_dir
    path = Path(name_or_dir)
    if (path / META_NAME).is_file():
        return path
    valid = ", ".join(bundled_names())
    raise SuiteError(
        f"unknown suite {name_or_dir!r}: valid suites are {valid} "
        "(or pass a directory holding suite.yaml)"
    )


def check_identity(name: str, version: int, digest: str, where: str) -> None:
    """Refuse a known suite name and version whose content is not the one it names."""
    known = BUNDLED_DIGESTS.get((name, version))
    if known is not None and digest != known:
        raise SuiteError(
            f"{where}: suite {name} v{version} has digest {digest[:12]}…, but ftlineage ships {name} "
            f"v{version} as {known[:12]}…; one name and version is one content: give your suite "
            "another name, or bump its version"
        )


def compute_lock(path: Path, meta: SuiteMeta) -> SuiteLock:
    """Hash every file of the suite (all of each file) into a lock."""
    files = {META_NAME: sha256_file(path / META_NAME)}
    for part in PARTS:
        files[f"{part}.jsonl"] = sha256_file(path / f"{part}.jsonl")
    digest = sha256_json(
        {"name": meta.name, "version": meta.version, "files": files}, domain="suite"
    )
    return SuiteLock(name=meta.name, version=meta.version, files=files, suite_sha=digest)


def _read_meta(path: Path) -> SuiteMeta:
    file = path / META_NAME
    raw, _ = userfile.load(file, "suite metadata", SuiteError)
    try:
        return SuiteMeta.model_validate(raw)
    except ValidationError as exc:
        first = str(exc).splitlines()[:2]
        raise SuiteError(f"{file}: invalid suite metadata: {' '.join(first)}") from None


def verify(name_or_dir: str) -> SuiteLock:
    """Check every byte of a suite against its lock; raise :class:`SuiteError` on any change."""
    path = resolve(name_or_dir)
    meta = _read_meta(path)
    lock_path = path / LOCK_NAME
    if not lock_path.is_file():
        raise SuiteError(f"{lock_path}: missing lock file; run `ftlineage suite lock {path}`")
    text = userfile.read_text(lock_path, "suite lock", SuiteError)
    fix = f"restore it, or re-lock with `ftlineage suite lock {path}`"
    locked = userfile.parse_versioned(SuiteLock, text, str(lock_path), SuiteError, what="suite lock", fix=fix)
    actual = compute_lock(path, meta)
    for fname, digest in locked.files.items():
        got = actual.files.get(fname)
        if got != digest:
            raise SuiteError(
                f"{path / fname}: sha256 {got} does not match the lock's {digest}; suite "
                f"{meta.name} v{meta.version} is frozen: restore the file or publish a new version"
            )
    if actual.suite_sha != locked.suite_sha:
        raise SuiteError(f"{lock_path}: suite digest does not match its files; re-lock the suite")
    check_identity(meta.name, meta.version, actual.suite_sha, str(path))
    return locked


def _read_part(path: Path, part: str) -> tuple[dict[str, Any], ...]:
    rows = []
    file = path / f"{part}.jsonl"
    text = userfile.read_text(file, f"{part} cases", SuiteError, limit=None) if file.is_file() else ""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{file}:{lineno}: invalid JSON ({exc.msg})") from None
        except RecursionError:
            raise SuiteError(f"{file}:{lineno}: the case is nested too deeply to read; flatten it") from None
        if not isinstance(row, dict) or "id" not in row or "prompt" not in row:
            raise SuiteError(f"{file}:{lineno}: each case needs 'id' and 'prompt'")
        rows.append(row)
    return tuple(rows)


def load(name_or_dir: str) -> Suite:
    """Verify and load a suite."""
    lock = verify(name_or_dir)
    path = resolve(name_or_dir)
    parts = {part: _read_part(path, part) for part in PARTS}
    return Suite(meta=_read_meta(path), lock=lock, path=path, **parts)
