"""The failure feed: failed cases grouped into named clusters, each with a suggested fix.

:func:`build_feed` is pure given its embedder and fixer; ``failures/feed.json`` is the
:class:`FailureFeed` it returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ftlineage.audit import Embedder, MaskedModel
from ftlineage.failures._cluster import (
    ClusterOptions,
    case_text,
    cluster_labels,
    distinctive_terms,
    embed,
)
from ftlineage.failures._fixes import ClusterFacts, Fix, Fixer, RuleFixer
from ftlineage.failures._items import FailedCase, ordered


class _Frozen(MaskedModel):
    """Frozen, and never holding a secret or personal data in clear (names, terms, fixes, ids)."""


class Cluster(_Frozen):
    """One named group of failed cases and what to do about it."""

    id: str  # "c1", "c2"... in feed order
    name: str
    terms: tuple[str, ...]
    size: int
    flips: int
    always: int
    checks: dict[str, int]
    stages: dict[str, int]
    families: dict[str, int]
    tiers: dict[str, int]
    sources: dict[str, int]
    kinds: dict[str, int]
    case_keys: tuple[str, ...]
    trace_ids: tuple[str, ...]
    fix: Fix


class FailureFeed(_Frozen):
    """Every failed case of a run, clustered. Written to disk: bump ``schema_version`` on field changes."""

    schema_version: int = 1
    run_id: str
    against: str  # what flips are measured against: "base", "champion:vN", ...
    canary_run: str | None = None
    embedder: str
    clustering: dict[str, float | int | str | None]
    fixer: str
    counts: dict[str, int]
    clusters: tuple[Cluster, ...]
    unclustered: tuple[str, ...]
    cases: tuple[FailedCase, ...]
    lineage: dict[str, str] = {}

    def cluster(self, cluster_id: str) -> Cluster:
        """The cluster with this id (``c2``) or name; an unknown one lists the clusters there are."""
        found = next((c for c in self.clusters if cluster_id in (c.id, c.name)), None)
        if found is None:
            from ftlineage.errors import BadInputError

            known = ", ".join(f"{c.id} ({c.name})" for c in self.clusters) or "none"
            raise BadInputError(
                f"run {self.run_id}: no failure cluster {cluster_id!r}; its clusters: {known}"
            )
        return found

    def cases_of(self, cluster: Cluster) -> list[FailedCase]:
        """The cluster's cases, in feed order."""
        by_key = {c.key: c for c in self.cases}
        return [by_key[k] for k in cluster.case_keys]


def _counter(values: Sequence[str | None]) -> Counter[str]:
    return Counter(v for v in values if v)


def facts_of(cases: Sequence[FailedCase], terms: Sequence[str]) -> ClusterFacts:
    """What a fixer reads of a group of cases."""
    return ClusterFacts(
        checks=Counter(ch for c in cases for ch in c.checks),
        stages=_counter([c.stage for c in cases]),
        families=_counter([c.family for c in cases if c.part == "drift"]),
        tiers=_counter([c.tier for c in cases]),
        sources=_counter([c.source for c in cases]),
        kinds=_counter([c.kind for c in cases]),
        terms=tuple(terms),
        examples=tuple((c.prompt, c.output) for c in cases[:3]),
        size=len(cases),
    )


def _name(facts: ClusterFacts, totals: Counter[str]) -> str:
    """The checks most of the cluster fails, the ones it fails most alone first, and its terms."""
    main = facts.main_checks() or [c for c, _ in facts.checks.most_common(1)]
    main.sort(key=lambda c: (-facts.checks[c] / totals[c], -facts.checks[c], c))
    return f"{' + '.join(main[:2])}: {', '.join(facts.terms[:3]) or 'no distinctive terms'}"


def _groups(cases: list[FailedCase], labels: Sequence[int]) -> list[list[FailedCase]]:
    found: dict[int, list[FailedCase]] = {}
    for case, label in zip(cases, labels, strict=True):
        if label >= 0:
            found.setdefault(int(label), []).append(case)
    groups = list(found.values())
    # What the change broke first, then the largest groups.
    return sorted(groups, key=lambda g: (-sum(c.kind == "flip" for c in g), -len(g), g[0].key))


def build_feed(
    items: Sequence[FailedCase],
    embedder: Embedder,
    *,
    run_id: str,
    against: str,
    options: ClusterOptions | None = None,
    fixer: Fixer | None = None,
    canary_run: str | None = None,
    lineage: dict[str, str] | None = None,
) -> FailureFeed:
    """Cluster ``items`` and suggest a fix per cluster."""
    options = options or ClusterOptions()
    fixer = fixer or RuleFixer()
    cases = ordered({c.key: c for c in items}.values())
    labels: list[int] = cluster_labels(cases, embed(cases, embedder), options).tolist() if cases else []
    groups = _groups(cases, labels)
    names = distinctive_terms([[case_text(c) for c in g] for g in groups], options.terms)
    totals = Counter(ch for c in cases for ch in c.checks)
    clusters = []
    for n, (group, terms) in enumerate(zip(groups, names, strict=True), start=1):
        facts = facts_of(group, terms)
        clusters.append(
            Cluster(
                id=f"c{n}",
                name=_name(facts, totals),
                terms=tuple(terms),
                size=len(group),
                flips=facts.kinds.get("flip", 0),
                always=facts.kinds.get("always", 0),
                checks=dict(facts.checks.most_common()),
                stages=dict(facts.stages),
                families=dict(facts.families),
                tiers=dict(facts.tiers),
                sources=dict(facts.sources),
                kinds=dict(facts.kinds),
                case_keys=tuple(c.key for c in group),
                trace_ids=tuple(sorted({c.trace_id for c in group if c.trace_id})),
                fix=fixer.fix(facts),
            )
        )
    noise = tuple(c.key for c, label in zip(cases, labels, strict=True) if label < 0)
    return FailureFeed(
        run_id=run_id,
        against=against,
        canary_run=canary_run,
        embedder=str(getattr(embedder, "name", type(embedder).__name__)),
        clustering={
            "algorithm": "sklearn.cluster.HDBSCAN",
            "split_by": "stage and failing checks",
            "min_cluster_size": options.min_cluster_size,
            "merge_cosine": options.merge_cosine,
            "attach_cosine": options.attach_cosine,
        },
        fixer=fixer.name,
        counts=dict(Counter(c.kind for c in cases)),
        clusters=tuple(clusters),
        unclustered=noise,
        cases=tuple(cases),
        lineage=dict(lineage or {}),
    )


def purity(feed: FailureFeed, truth: dict[str, str]) -> float:
    """Share of clustered cases whose cluster's majority label is their own (``truth``: key → label)."""
    clustered = [feed.cases_of(c) for c in feed.clusters]
    total = sum(len(g) for g in clustered)
    if not total:
        return float("nan")
    hits = sum(Counter(truth[c.key] for c in g).most_common(1)[0][1] for g in clustered)
    return hits / total
