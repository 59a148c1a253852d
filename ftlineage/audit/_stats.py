"""Counts, skew, contamination, and the verdict: from merged facts to the frozen report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ftlineage.audit._facts import Facts
from ftlineage.audit._groups import Duplicates
from ftlineage.audit._report import FLAGS, AuditReport, LabelNoise, LengthStats, SourceStats
from ftlineage.recipe import AuditPolicy

CONTAMINATION_MIN_RATE = 0.2
CONTAMINATION_RATIO = 5.0
MALFORMED_EXAMPLES = 20
# A row holding a credential never goes to training, whatever the policy's ``drop`` says: the
# training rows are the one file written verbatim, so dropping is the only way to keep a secret out.
ALWAYS_DROPPED = frozenset({"secret"})


def lengths(values: np.ndarray) -> LengthStats:
    """Summary and log-binned histogram of character lengths."""
    if not len(values):
        return LengthStats(mean=0, p50=0, p95=0, max=0, edges=(), counts=())
    edges = np.unique(np.r_[0, np.geomspace(1, max(int(values.max()), 2) + 1, 25).round()])
    counts, _ = np.histogram(values, bins=edges)
    return LengthStats(
        mean=float(values.mean()),
        p50=float(np.percentile(values, 50)),
        p95=float(np.percentile(values, 95)),
        max=int(values.max()),
        edges=tuple(float(e) for e in edges),
        counts=tuple(int(c) for c in counts),
    )


def source_stats(f: Facts) -> dict[str, SourceStats]:
    """Rows, refusal rate and flags per source."""
    out = {}
    for code, name in enumerate(f.sources):
        members = np.nonzero(f.valid & (f.source == code))[0]
        per_flag = Counter(flag for i in members.tolist() for flag in f.flags.get(i, {}))
        flagged = sum(1 for i in members.tolist() if f.flags.get(i))
        out[name] = SourceStats(
            rows=len(members),
            refusal_rate=float(f.refusal[members].mean()),
            flagged=flagged,
            flags=dict(per_flag),
        )
    return out


def contaminating_sources(stats: dict[str, SourceStats], safety: Sequence[str] = ()) -> list[str]:
    """Sources whose refusal rate is high and far above the rest's.

    ``safety`` names sources of deliberate safety data: their refusals are intended, so they are
    neither flagged nor counted in the rest's rate.
    """
    stats = {n: s for n, s in stats.items() if n not in safety}
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


def decide(
    f: Facts,
    dups: Duplicates,
    conflicts: int,
    policy: AuditPolicy,
    semantic: str,
    label_noise: LabelNoise | None,
) -> tuple[AuditReport, np.ndarray]:
    """The report (corpus SHA, engine and timings filled in by the caller) and the keep mask."""
    counts = Counter(flag for flags in f.flags.values() for flag in flags)
    dropped: Counter[str] = Counter()
    kept = f.valid.copy()
    dropping = ALWAYS_DROPPED | set(policy.drop)
    for i, flags in f.flags.items():
        drop = [fl for fl in flags if fl in dropping and (not fl.endswith("_duplicate") or dups.copies[i])]
        if drop:
            kept[i] = False
            dropped.update(drop)
    stats = source_stats(f)
    bad = contaminating_sources(stats, policy.safety_sources)
    labels = Counter(f.labels[c] for c in f.label[f.valid & (f.label >= 0)].tolist())
    n = int(f.valid.sum())
    reasons = _reasons(n, f, counts, bad, stats, policy)
    findings = _findings(counts, stats, labels, conflicts, f, policy, label_noise)
    report = AuditReport(
        corpus_sha="",
        engine="",
        scanner_engine="",
        records=f.n,
        rows_in=n,
        rows_kept=int(kept.sum()),
        rows_malformed=len(f.errors),
        malformed_examples=tuple(m for _, m in f.errors[:MALFORMED_EXAMPLES]),
        counts={flag: counts.get(flag, 0) for flag in FLAGS},
        dropped=dict(dropped),
        duplicate_groups={**dups.groups, "label_conflict": conflicts},
        sources=stats,
        labels=dict(labels),
        lengths={
            "prompt": lengths(f.prompt_chars[f.valid]),
            "completion": lengths(f.completion_chars[f.valid]),
        },
        contaminating_sources=tuple(bad),
        safety_sources=tuple(policy.safety_sources),
        semantic=semantic,
        label_noise=label_noise,
        thresholds=_thresholds(policy),
        seed=0,
        verdict="blocked" if reasons else "pass",
        reasons=tuple(reasons) or ("every blocking check passed",),
        findings=tuple(findings),
        timings_s={},
    )
    return report, kept


def _thresholds(policy: AuditPolicy) -> dict[str, float | int | str]:
    out: dict[str, float | int | str] = {
        "near_duplicate_jaccard": policy.near_duplicate_threshold,
        "shingle_bytes": policy.shingle_size,
        "minhash_bins": policy.num_perm,
        "lsh_bands": policy.lsh_bands,
        "semantic_cosine": policy.semantic_threshold,
        "leak_cosine": policy.leak_cosine,
        "embedding_model": policy.embedding_model,
        "skew_ratio": policy.skew_ratio,
        "max_row_bytes": policy.max_row_bytes,
    }
    out.update({f"block.{k}": v for k, v in policy.block.items()})
    return out


def _reasons(
    n: int, f: Facts, counts: Counter[str], bad: list[str], stats: dict[str, SourceStats], policy: AuditPolicy
) -> list[str]:
    reasons = []
    for flag, limit in sorted(policy.block.items()):
        if flag == "refusal_contamination":
            if len(bad) > limit:
                reasons += [
                    f"source {s!r} is contaminated with refusal boilerplate: {stats[s].refusal_rate:.0%} "
                    f"of its {stats[s].rows} completions refuse (the classic over-refusal accident); "
                    "remove or fix that source (or, if its refusals are deliberate safety data, "
                    "list it in audit.safety_sources)"
                    for s in bad
                ]
            continue
        hits = len(f.errors) if flag == "malformed" else counts.get(flag, 0)
        frac = hits / max(f.n if flag == "malformed" else n, 1)
        if frac > limit:
            reasons.append(
                f"{hits} rows ({frac:.2%}) flagged {flag}, above the {limit:.2%} the policy allows"
            )
    return reasons


def _findings(
    counts: Counter[str],
    stats: dict[str, SourceStats],
    labels: Counter[str],
    conflicts: int,
    f: Facts,
    policy: AuditPolicy,
    noise: LabelNoise | None,
) -> list[str]:
    out = [f"{c} rows flagged {flag}" for flag, c in sorted(counts.items())]
    if f.errors:
        out.append(f"{len(f.errors)} malformed records skipped (first: {f.errors[0][1]})")
    for what, sizes in (("source", {k: s.rows for k, s in stats.items()}), ("label", dict(labels))):
        if len(sizes) > 1 and max(sizes.values()) > policy.skew_ratio * min(sizes.values()):
            big, small = max(sizes, key=sizes.__getitem__), min(sizes, key=sizes.__getitem__)
            out.append(
                f"{what} skew {sizes[big]}:{sizes[small]} ({big!r} vs {small!r}) exceeds "
                f"{policy.skew_ratio:g}:1"
            )
    if conflicts:
        out.append(f"{conflicts} prompts appear with conflicting labels")
    missing = [s for s in policy.safety_sources if s not in stats]
    if missing:
        out.append(
            f"audit.safety_sources names {', '.join(map(repr, missing))}, but no row has that source; "
            f"the sources are {', '.join(map(repr, sorted(stats)))}"
        )
    if noise is not None and noise.agreement < policy.label_agreement_min:
        out.append(
            f"label noise: relabelled sample of {noise.sample_size} agrees {noise.agreement:.1%} "
            f"(kappa {noise.kappa:.2f}), below {policy.label_agreement_min:.0%}"
        )
    dup_ids = len(f.id_hash[f.valid]) - len(np.unique(f.id_hash[f.valid]))
    if dup_ids:
        out.append(f"{dup_ids} rows reuse an id already taken by another row")
    return out
