"""Versioned, locked eval suites.

A suite is a directory: ``suite.yaml`` (name, version, its parts and how each is scored), the
parts' case files (JSONL, see :mod:`ftlineage.tasks._case`) and ``suite.lock``: the full SHA-256
of every file, one per case, and one suite digest over them. Loading verifies the lock first,
so a suite whose bytes changed is never scored silently. Bundled suites are found by name, any
other by its directory. A part may come from another suite (``drift: {suite: general_v1}``).
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ftlineage import readers as userfile
from ftlineage.errors import SuiteError
from ftlineage.lineage import sha256_file, sha256_json
from ftlineage.tasks import (
    Case,
    Direction,
    FamilySpec,
    GateMetric,
    PartScoring,
    ScorerSpec,
    ScoringPlan,
    default_gate,
    produced_metrics,
    read_cases,
)

PARTS = ("heldout", "drift", "arena")
REGRESSION = "regression"  # and "regression_<name>": parts of frozen failure clusters, gated like held-out
SCHEMA_VERSION = 2
# The digest of every bundled suite version this package ships. A suite carrying one of these
# names and versions with any other content is refused wherever it comes from: a name and a
# version identify one content. A maintainer who changes a bundled suite bumps its version.
BUNDLED_DIGESTS: dict[tuple[str, int], str] = {
    ("general_v1", 1): "835e9b91a751d0e3559ff3574e352c04556448c980951fc39d12dc13d9e85d47",
    ("healthcare_v17", 17): "feafb316e3e8b60f7afe10e2d91eaeb151e1d3ebe592b9493bc28d92db8f190f",
    ("salon_booking_v3", 3): "417389a05754c3d34f9aadf7c7babff6d65ac98a86676e92ea1997f0fc155a7e",
}
# Digests older releases shipped under a name and version whose files were re-expressed since
# (healthcare_v17's cases are byte-identical; suite.yaml moved to schema 2 in ftlineage 0.2).
RETIRED_DIGESTS: dict[str, str] = {
    "952d880738d613c8c05f027d5a47226ed10387f8275689b5f55dd4d6f016b94e": "healthcare_v17 v17 (ftlineage 0.1)",
}
LOCK_NAME = "suite.lock"
META_NAME = "suite.yaml"


class PartSpec(BaseModel):
    """One part of a suite in ``suite.yaml``.

    ``file``: the cases (JSONL) in the suite directory; or ``suite``: take this part (cases and
    scoring) from another suite. ``template`` shows drift prompts (held-out and arena prompts
    use the recipe's template). ``scorers`` score each case; ``families`` score a family-scored
    part (drift) one scorer per family. ``gate``: metrics the gate tracks by default.
    ``rubric``: what an LLM judge compares in the arena.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str | None = None
    suite: str | None = None
    template: str = "{prompt}"
    max_new_tokens: int = 64
    scorers: tuple[ScorerSpec, ...] = ()
    families: dict[str, FamilySpec] = {}
    gate: tuple[GateMetric, ...] | None = None
    rubric: str | None = None
    rubric_version: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PartSpec:
        if (self.file is None) == (self.suite is None):
            raise ValueError(
                "give exactly one of 'file' (cases in this directory) or 'suite' (another suite)"
            )
        if "{prompt}" not in self.template:
            raise ValueError(f"template {self.template!r} must contain {{prompt}}")
        return self


class SuiteMeta(BaseModel):
    """``suite.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str
    version: int
    description: str = ""
    task: str | None = None
    parts: dict[str, PartSpec]

    @model_validator(mode="after")
    def _known_parts(self) -> SuiteMeta:
        unknown = sorted(p for p in set(self.parts) - set(PARTS) if not is_regression(p))
        if unknown:
            valid = f"{', '.join(PARTS)}, {REGRESSION} and {REGRESSION}_<name>"
            raise ValueError(f"unknown part(s) {unknown}; valid parts are {valid}")
        ref = sorted(p for p, s in self.parts.items() if is_regression(p) and s.file is None)
        if ref:
            raise ValueError(
                f"regression part {ref[0]!r} needs its own 'file' (frozen cases live in this suite)"
            )
        if "heldout" not in self.parts and "drift" not in self.parts:
            raise ValueError("a suite needs a 'heldout' part (or, for a drift suite, a 'drift' part)")
        return self


def is_regression(part: str) -> bool:
    """Whether ``part`` holds frozen failure cases (``regression`` or ``regression_<name>``)."""
    return part == REGRESSION or part.startswith(f"{REGRESSION}_")


class SuiteLock(BaseModel):
    """``suite.lock``: per-file and per-case SHA-256 and the suite digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str
    version: int
    files: dict[str, str]
    suite_sha: str
    cases: dict[str, dict[str, str]] = {}


@dataclasses.dataclass(frozen=True)
class Suite:
    """A loaded, verified suite: typed cases per part, how each part is scored and prompted."""

    meta: SuiteMeta
    lock: SuiteLock
    path: Path
    heldout: tuple[Case, ...]
    drift: tuple[Case, ...]
    arena: tuple[Case, ...]
    specs: dict[str, PartSpec]
    regression: dict[str, tuple[Case, ...]] = dataclasses.field(default_factory=dict)

    @property
    def sha(self) -> str:
        """The suite digest (same function as the lock)."""
        return self.lock.suite_sha

    @property
    def plan(self) -> ScoringPlan:
        """How each part is scored (the arena part's scorers are the arena rubric)."""
        return ScoringPlan(
            parts={p: PartScoring(scorers=s.scorers, families=s.families) for p, s in self.specs.items()}
        )

    def spec(self, part: str) -> PartSpec:
        """The part's spec; a part the suite lacks is an error naming the suite."""
        if part not in self.specs:
            raise SuiteError(
                f"suite {self.meta.name!r} has no {part!r} part (it has {', '.join(self.specs)})"
            )
        return self.specs[part]

    def part_source(self, part: str) -> tuple[str | None, str]:
        """Where a part's cases come from (a file path, or ``suite:NAME``) and that source's digest."""
        own = self.meta.parts.get(part)
        if own is None:
            held = self.meta.parts.get("heldout") if part == "arena" else None
            if held is None or held.file is None:
                return None, ""
            own = held
        if own.suite is not None:
            return f"suite:{own.suite}", self.lock.files[f"{part}@{own.suite}"]
        assert own.file is not None
        return str(self.path / own.file), self.lock.files[own.file]

    def cases(self, part: str) -> tuple[Case, ...]:
        """The cases of one part (a standard part or a regression part); none for a part it lacks."""
        if part in PARTS:
            return tuple(getattr(self, part))
        return self.regression.get(part, ())

    def inputs(self) -> dict[str, str]:
        """Every case's input text by case id, over every part."""
        return {c.id: c.input_text for part in self.specs for c in self.cases(part)}

    def regression_parts(self) -> list[str]:
        """The suite's regression parts, in ``suite.yaml`` order."""
        return [p for p in self.specs if is_regression(p)]

    def max_new_tokens(self, part: str) -> int:
        """How many tokens a model may generate for this part."""
        return self.spec(part).max_new_tokens

    def prompts(self) -> dict[str, str]:
        """Every input of every part, named ``part#index``: what must not leak into training."""
        parts = [*PARTS, *self.regression_parts()]
        return {f"{p}#{i}": c.input_text for p in parts for i, c in enumerate(self.cases(p))}

    def produced_metrics(self) -> dict[str, Direction]:
        """Metric name -> better direction, for every metric this suite's scorers produce."""
        families = {p: {c.family or "" for c in self.cases(p)} for p in self.specs if self.specs[p].families}
        plan = ScoringPlan(parts={p: s for p, s in self.plan.parts.items() if p != "arena"})
        return dict(produced_metrics(plan, families))

    def gate_metrics(self) -> tuple[GateMetric, ...]:
        """The metrics the gate tracks by default: declared per part, else each scorer's first."""
        out: list[GateMetric] = []
        for part in ("heldout", "drift", *self.regression_parts()):
            spec = self.specs.get(part)
            if spec is None:
                continue
            if spec.gate is not None:
                out.extend(spec.gate)
            elif spec.families and is_regression(part):
                out.append(GateMetric(metric=f"{part}/overall", direction="higher"))
            else:
                out.extend(default_gate(part, spec.scorers))
        return tuple(out)

    def primary_metric(self) -> str:
        """The metric checkpoints are selected on: the first held-out gate metric that is higher-better."""
        for metric in self.gate_metrics():
            if metric.metric.startswith("heldout/") and metric.direction == "higher":
                return metric.metric
        produced = [
            m for m, d in self.produced_metrics().items() if m.startswith("heldout/") and d == "higher"
        ]
        if not produced:
            raise SuiteError(f"suite {self.meta.name!r}: no held-out metric to select checkpoints on")
        return produced[0]

    def rubric_version(self) -> str:
        """The arena rubric's version: declared, else a digest of the arena scorers."""
        spec = self.specs.get("arena")
        if spec is None:
            return "none"
        if spec.rubric_version:
            return spec.rubric_version
        return "scorers:" + sha256_json([s.key() for s in spec.scorers], domain="rubric")[:16]


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
        "(or pass a directory holding suite.yaml; create one with `ftlineage suite new`)"
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


def retired_hint(digest: str) -> str:
    """For a digest an older release shipped: what it was, and what to do; else ``""``."""
    what = RETIRED_DIGESTS.get(digest)
    if what is None:
        return ""
    return (
        f" (digest {digest[:12]}… is {what}, whose suite.yaml was re-expressed in the general suite "
        "format; the cases are unchanged, but scores pinned on it must be re-pinned on this release)"
    )


def read_meta(path: Path) -> SuiteMeta:
    """Read and validate ``suite.yaml``; errors name the file and the key."""
    file = path / META_NAME
    raw, node = userfile.load(file, "suite metadata", SuiteError)
    if isinstance(raw, dict) and raw.get("schema_version", 1) == 1 and "parts" not in raw:
        raise SuiteError(
            f"{file}: this suite.yaml is in the schema-1 format (ftlineage 0.1), which named no "
            "scorers; re-create the suite with `ftlineage suite new` (see README, 'Bring your own task')"
        )
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("schema_version"), int)
        and raw["schema_version"] > SCHEMA_VERSION
    ):
        raise SuiteError(
            f"{file}: schema_version {raw['schema_version']} is newer than this ftlineage reads "
            f"({SCHEMA_VERSION}); upgrade ftlineage"
        )
    try:
        return SuiteMeta.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        line = key_line(path, tuple(err["loc"]), node)
        raise SuiteError(
            f"{file}:{line}: invalid suite metadata at {loc}: {err['msg']}; see README 'Eval suites'"
        ) from None


def key_line(path: Path, loc: tuple[Any, ...], node: Any = None) -> int:
    """The line of ``suite.yaml`` holding ``loc`` (or the nearest enclosing key); 1 when unknown."""
    if node is None:
        _, node = userfile.load(path / META_NAME, "suite metadata", SuiteError)
    lines = userfile.line_index(node) if node is not None else {}
    return next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)


def part_files(meta: SuiteMeta) -> list[str]:
    """The case files of the suite's own parts, each once, in part order."""
    return list(dict.fromkeys(s.file for s in meta.parts.values() if s.file is not None))


def compute_lock(path: Path, meta: SuiteMeta) -> SuiteLock:
    """Hash every file of the suite (all of each file), every case, and parts taken from other suites."""
    files = {META_NAME: sha256_file(path / META_NAME)}
    cases: dict[str, dict[str, str]] = {}
    for fname in part_files(meta):
        file = path / fname
        if not file.is_file():
            raise SuiteError(f"{path / META_NAME}: part file {fname!r} does not exist in {path}")
        files[fname] = sha256_file(file)
        text = userfile.read_text(file, "suite cases", SuiteError, limit=None)
        cases[fname] = {
            c.id: sha256_json(c.to_row(), domain="suite-case") for c in read_cases(text, str(file))
        }
    for part, spec in meta.parts.items():
        if spec.suite is not None:
            files[f"{part}@{spec.suite}"] = verify(spec.suite).suite_sha
    digest = sha256_json({"name": meta.name, "version": meta.version, "files": files}, domain="suite")
    return SuiteLock(name=meta.name, version=meta.version, files=files, suite_sha=digest, cases=cases)


def _read_lock(path: Path) -> SuiteLock:
    lock_path = path / LOCK_NAME
    if not lock_path.is_file():
        raise SuiteError(f"{lock_path}: missing lock file; run `ftlineage suite lock {path}`")
    text = userfile.read_text(lock_path, "suite lock", SuiteError)
    fix = f"restore it, or re-lock with `ftlineage suite lock {path}`"
    return userfile.parse_versioned(SuiteLock, text, str(lock_path), SuiteError, what="suite lock", fix=fix)


def verify(name_or_dir: str) -> SuiteLock:
    """Check every byte of a suite against its lock; raise :class:`SuiteError` on any change."""
    path = resolve(name_or_dir)
    meta = read_meta(path)
    locked = _read_lock(path)
    for fname, digest in locked.files.items():  # bytes first: an edited file is "changed", not "malformed"
        got = sha256_file(path / fname) if "@" not in fname and (path / fname).is_file() else None
        if "@" not in fname and got != digest:
            raise SuiteError(
                f"{path / fname}: sha256 {got} does not match the lock's {digest}; suite "
                f"{meta.name} v{meta.version} is frozen: restore the file, or bump 'version' in "
                f"suite.yaml and run `ftlineage suite lock {path}`"
            )
    actual = compute_lock(path, meta)
    for fname, digest in locked.files.items():
        got = actual.files.get(fname)
        if got != digest:
            raise SuiteError(
                f"{path / fname}: sha256 {got} does not match the lock's {digest}; suite "
                f"{meta.name} v{meta.version} is frozen: restore the file, or bump 'version' in "
                f"suite.yaml and run `ftlineage suite lock {path}`"
            )
    if actual.suite_sha != locked.suite_sha:
        raise SuiteError(
            f"{path / LOCK_NAME}: suite digest does not match its files; run `ftlineage suite lock {path}`"
        )
    check_identity(meta.name, meta.version, actual.suite_sha, str(path))
    return locked


def _part_cases(path: Path, spec: PartSpec) -> tuple[Case, ...]:
    assert spec.file is not None
    file = path / spec.file
    return read_cases(userfile.read_text(file, "suite cases", SuiteError, limit=None), str(file))


def load(name_or_dir: str) -> Suite:
    """Verify and load a suite (and the suites its parts come from)."""
    lock = verify(name_or_dir)
    path = resolve(name_or_dir)
    meta = read_meta(path)
    specs: dict[str, PartSpec] = {}
    parts: dict[str, tuple[Case, ...]] = {}
    for part, spec in meta.parts.items():
        if spec.suite is not None:
            other = load(spec.suite)
            specs[part], parts[part] = other.spec(part), getattr(other, part)
        else:
            specs[part], parts[part] = spec, _part_cases(path, spec)
    if "arena" not in specs and "heldout" in specs:  # no arena pool: the held-out cases are the pool
        held = specs["heldout"]
        specs["arena"] = held.model_copy(update={"scorers": held.scorers, "gate": None})
        parts["arena"] = parts["heldout"]
    from ftlineage.tasks import check_suite

    suite = Suite(
        meta=meta,
        lock=lock,
        path=path,
        specs=specs,
        heldout=parts.get("heldout", ()),
        drift=parts.get("drift", ()),
        arena=parts.get("arena", ()),
        regression={p: c for p, c in parts.items() if is_regression(p)},
    )
    check_suite(suite)
    return suite


def inputs_of(name_or_dir: str | None) -> dict[str, str]:
    """The inputs of the suite a run names (:meth:`Suite.inputs`); ``{}`` when it cannot be loaded.

    For reports on recorded runs: a suite that moved or changed since leaves them without inputs.
    """
    if not name_or_dir:
        return {}
    try:
        return load(name_or_dir).inputs()
    except Exception as exc:  # noqa: BLE001 - a report goes on without the inputs
        import logging

        logging.getLogger(__name__).warning(
            "suite %r could not be loaded (%s): cases shown without inputs", name_or_dir, exc
        )
        return {}
