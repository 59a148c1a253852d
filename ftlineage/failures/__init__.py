"""The failure feed: every failed case of a run in a named cluster with a suggested fix.

* collect: :func:`from_scores` (flips first), :func:`from_arena`, :func:`from_canary`,
  :func:`from_audit` turn what the stages wrote into :class:`FailedCase` items;
* cluster: :func:`build_feed` embeds them (the audit's offline MiniLM), groups them with
  HDBSCAN and names each group by its distinctive terms and failing checks;
* fix: :class:`RuleFixer` (a rules table) or :class:`LLMFixer` (a pinned prompt, cached);
* freeze: :func:`freeze_cluster` appends a cluster's cases to a regression part of a suite.

Pure functions returning frozen reports; the MLflow side lives in :mod:`ftlineage.pipeline`
and the CLI.
"""

from ftlineage.failures._cluster import ClusterOptions, distinctive_terms
from ftlineage.failures._feed import Cluster, FailureFeed, build_feed, facts_of, purity
from ftlineage.failures._fixes import (
    FIX_PROMPT_VERSION,
    PROMPT,
    RULES,
    ClusterFacts,
    Fix,
    FixCache,
    Fixer,
    LLMFixer,
    Rule,
    RuleFixer,
    fix_prompt,
    rule_fix,
)
from ftlineage.failures._freeze import FreezeResult, freeze_cluster
from ftlineage.failures._items import (
    FailedCase,
    arena_winner,
    from_arena,
    from_audit,
    from_canary,
    from_scores,
    ordered,
)
from ftlineage.failures._render import headline, render_html, render_text

__all__ = [
    "arena_winner",
    "build_feed",
    "Cluster",
    "ClusterFacts",
    "ClusterOptions",
    "distinctive_terms",
    "facts_of",
    "FailedCase",
    "FailureFeed",
    "Fix",
    "FIX_PROMPT_VERSION",
    "FixCache",
    "Fixer",
    "freeze_cluster",
    "FreezeResult",
    "fix_prompt",
    "from_arena",
    "from_audit",
    "from_canary",
    "from_scores",
    "headline",
    "LLMFixer",
    "ordered",
    "PROMPT",
    "purity",
    "render_html",
    "render_text",
    "Rule",
    "RuleFixer",
    "rule_fix",
    "RULES",
]
