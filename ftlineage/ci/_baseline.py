"""Pinned baselines for the CI gate, seeded suite slices, and the append-only suite check.

A baseline file holds the aggregated scores of one model on one slice of one suite, keyed by the
suite digest, plus the SHA-256 of every case it saw: a later suite version may add cases, but a
case that changed under the same version is refused.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ftlineage.errors import BadInputError, SuiteError
from ftlineage.lineage import sha256_json
from ftlineage.readers import parse_versioned
from ftlineage.scoring import Score
from ftlineage.suites import Suite
from ftlineage.tasks import Case

DEFAULT_SLICE = 50


class Baseline(BaseModel):
    """Scores the candidate is compared with. Written to disk: bump ``schema_version`` on changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    suite: str
    suite_version: int
    suite_sha: str
    slice: int
    model: str
    metrics: dict[str, Score]  # NaN (unscored) is written as null
    case_shas: dict[str, str]


def case_sha(case: Case) -> str:
    """SHA-256 of one case's canonical JSON (the same digest the suite lock records)."""
    return sha256_json(case.to_row(), domain="suite-case")


def slice_suite(suite: Suite, n: int | None) -> Suite:
    """A seeded slice: ``n`` held-out and ``2n`` drift cases, ranked by SHA-256(suite digest, id).

    The same suite digest always gives the same slice; ``None`` or 0 keeps the whole suite.
    """
    if not n:
        return suite

    def pick(cases: tuple[Case, ...], k: int) -> tuple[Case, ...]:
        ranked = sorted(cases, key=lambda c: sha256_json([suite.sha, c.id], domain="slice"))
        return tuple(ranked[:k])

    return dataclasses.replace(suite, heldout=pick(suite.heldout, n), drift=pick(suite.drift, 2 * n))


def case_shas(suite: Suite) -> dict[str, str]:
    """Case id to SHA-256 for every held-out and drift case."""
    return {f"{part}/{c.id}": case_sha(c) for part in ("heldout", "drift") for c in getattr(suite, part)}


def check_append_only(suite: Suite, baseline: Baseline) -> None:
    """Refuse a suite whose existing cases changed (or vanished) without a version bump."""
    if suite.meta.version != baseline.suite_version:
        return
    now = case_shas(suite)
    changed = sorted(k for k, v in baseline.case_shas.items() if now.get(k) != v)
    if changed:
        raise SuiteError(
            f"suite {suite.meta.name!r} v{suite.meta.version}: {len(changed)} existing case(s) changed or "
            f"removed without a version bump (first: {changed[0]}); locked suites are append-only, so bump "
            "'version' in suite.yaml and re-pin the baseline"
        )


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file; malformed files name the file and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(
            f"{path}: no baseline; write one with `ftlineage baseline pin --out {path}`"
        ) from None
    fix = "re-pin it with `ftlineage baseline pin`"
    return parse_versioned(Baseline, text, str(path), what="baseline", fix=fix)


def pin(suite: Suite, metrics: dict[str, float], *, slice_n: int, model: str, out: Path) -> Baseline:
    """Write the baseline for ``metrics`` measured on ``suite`` (the full suite's case hashes)."""
    baseline = Baseline(
        suite=suite.meta.name,
        suite_version=suite.meta.version,
        suite_sha=suite.sha,
        slice=slice_n,
        model=model,
        metrics=metrics,
        case_shas=case_shas(suite),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(baseline.model_dump_json(indent=2), encoding="utf-8")
    return baseline
