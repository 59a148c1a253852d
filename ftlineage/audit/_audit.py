"""Run the whole audit on a corpus: pure function from rows to (report, kept rows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ftlineage.audit._dedup import exact_groups, near_groups
from ftlineage.audit._leakage import leaked_rows
from ftlineage.audit._report import AuditReport, FlaggedRow, SourceStats
from ftlineage.audit._scanners import scan_text
from ftlineage.recipe import AuditPolicy
from ftlineage.scoring import is_refusal

CONTAMINATION_MIN_RATE = 0.2
CONTAMINATION_RATIO = 5.0


class _Flags:
    def __init__(self, n: int) -> None:
        self.flags: list[dict[str, str]] = [{} for _ in range(n)]

    def add(self, row: int, flag: str, detail: str) -> None:
        self.flags[row].setdefault(flag, detail)


def _dedup(rows: Sequence[dict[str, Any]], policy: AuditPolicy, seed: int, flags: _Flags) -> set[int]:
    """Flag every member of each duplicate group; return the rows that are not kept copies."""
    extra: set[int] = set()
    pairs = [(r["prompt"], r["completion"]) for r in rows]
    for gid, group in enumerate(exact_groups(pairs)):
        for i in group:
            flags.add(i, "exact_duplicate", f"group x{gid} of {len(group)}")
        extra.update(group[1:])
    reps = [i for i in range(len(rows)) if i not in extra]
    texts = [f"{rows[i]['prompt']}\n{rows[i]['completion']}" for i in reps]
    groups = near_groups(texts, threshold=policy.near_duplicate_threshold,
                         shingle_size=policy.shingle_size, num_perm=policy.num_perm, seed=seed)
    for gid, group in enumerate(groups):
        members = [reps[j] for j in group]
        for i in members:
            flags.add(i, "near_duplicate", f"group n{gid} of {len(members)}")
        extra.update(members[1:])
    return extra


def _source_stats(rows: Sequence[dict[str, Any]], refusals: list[bool]) -> dict[str, SourceStats]:
    per: dict[str, list[bool]] = {}
    for row, refused in zip(rows, refusals, strict=True):
        per.setdefault(row["source"], []).append(refused)
    return {s: SourceStats(rows=len(v), refusal_rate=sum(v) / len(v), flagged=0) for s, v in per.items()}


def _contaminating_sources(stats: dict[str, SourceStats]) -> list[str]:
    out = []
    for name, s in stats.items():
        rest = [o for n, o in stats.items() if n != name]
        rest_rows = sum(o.rows for o in rest)
        rest_rate = sum(o.refusal_rate * o.rows for o in rest) / rest_rows if rest_rows else 0.0
        if s.refusal_rate >= CONTAMINATION_MIN_RATE and s.refusal_rate >= CONTAMINATION_RATIO * max(
            rest_rate, 0.01
        ):
            out.append(name)
    return sorted(out)


def run_audit(
    rows: Sequence[dict[str, Any]],
    suite_prompts: Sequence[str],
    policy: AuditPolicy,
    *,
    seed: int,
    corpus_sha: str,
) -> tuple[AuditReport, list[dict[str, Any]]]:
    """Audit ``rows`` before tokenization; returns the report and the rows kept for training."""
    flags = _Flags(len(rows))
    not_kept_copy = _dedup(rows, policy, seed, flags)
    leaks = leaked_rows([r["prompt"] for r in rows], suite_prompts,
                        threshold=policy.near_duplicate_threshold,
                        shingle_size=policy.shingle_size, num_perm=policy.num_perm, seed=seed)
    for i, why in leaks.items():
        flags.add(i, "eval_leak", why)
    refusals = [is_refusal(r["completion"]) for r in rows]
    for i, row in enumerate(rows):
        for f in scan_text(f"{row['prompt']}\n{row['completion']}"):
            flags.add(i, f.flag, f"{f.rule}: {f.redacted}")
        if refusals[i]:
            flags.add(i, "refusal", "completion is refusal boilerplate")
    return _assemble(rows, flags, not_kept_copy, refusals, policy, corpus_sha)


def _assemble(
    rows: Sequence[dict[str, Any]],
    flags: _Flags,
    copies: set[int],
    refusals: list[bool],
    policy: AuditPolicy,
    corpus_sha: str,
) -> tuple[AuditReport, list[dict[str, Any]]]:
    counts = Counter(f for fl in flags.flags for f in fl)
    stats = _source_stats(rows, refusals)
    bad_sources = _contaminating_sources(stats)
    dropped: Counter[str] = Counter()
    kept = []
    for i, row in enumerate(rows):
        drop = [f for f in flags.flags[i] if f in policy.drop
                and (f not in ("exact_duplicate", "near_duplicate") or i in copies)]
        dropped.update(drop)
        if not drop:
            kept.append(row)
    reasons, findings = _verdict(len(rows), counts, bad_sources, stats, policy)
    flagged_per_source = Counter(rows[i]["source"] for i, fl in enumerate(flags.flags) if fl)
    sources = {n: s.model_copy(update={"flagged": flagged_per_source[n]}) for n, s in stats.items()}
    report = AuditReport(
        corpus_sha=corpus_sha, rows_in=len(rows), rows_kept=len(kept), counts=dict(counts),
        dropped=dict(dropped), sources=sources, contaminating_sources=tuple(bad_sources),
        thresholds={"near_duplicate_jaccard": policy.near_duplicate_threshold,
                    **{f"block.{k}": v for k, v in policy.block.items()}},
        verdict="blocked" if reasons else "pass",
        reasons=tuple(reasons) or ("every blocking check passed",), findings=tuple(findings),
        flagged=tuple(FlaggedRow(id=rows[i]["id"], source=rows[i]["source"], flags=tuple(fl),
                                 details=fl) for i, fl in enumerate(flags.flags) if fl),
    )
    return report, kept


def _verdict(
    n: int,
    counts: Counter[str],
    bad_sources: list[str],
    stats: dict[str, SourceStats],
    policy: AuditPolicy,
) -> tuple[list[str], list[str]]:
    reasons, findings = [], []
    for flag, limit in sorted(policy.block.items()):
        if flag == "refusal_contamination":
            if len(bad_sources) > limit:
                for s in bad_sources:
                    reasons.append(
                        f"source {s!r} is contaminated with refusal boilerplate: "
                        f"{stats[s].refusal_rate:.0%} of its {stats[s].rows} completions refuse "
                        "(the classic over-refusal accident); remove or fix that source"
                    )
            continue
        frac = counts.get(flag, 0) / n if n else 0.0
        if frac > limit:
            reasons.append(f"{counts[flag]} rows ({frac:.2%}) flagged {flag}, above the "
                           f"{limit:.2%} the policy allows")
    for flag, c in sorted(counts.items()):
        findings.append(f"{c} rows flagged {flag}")
    big = max((s.rows for s in stats.values()), default=0)
    small = min((s.rows for s in stats.values()), default=0)
    if small and big / small > 10:
        findings.append(f"source skew {big}:{small} exceeds 10:1")
    return reasons, findings
