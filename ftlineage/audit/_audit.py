"""Run the whole audit on a corpus: stream, check corpus-wide, decide.

:func:`audit_corpus` returns an :class:`AuditResult` (the frozen report plus the per-record flags
and the keep mask); writing files is :func:`ftlineage.audit.write_outputs`'s job.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ftlineage.audit._engine import run_chunks
from ftlineage.audit._facts import Facts, merge
from ftlineage.audit._groups import assign_duplicates, exact_roots, label_conflicts, near_links
from ftlineage.audit._report import AuditReport, LabelNoise
from ftlineage.audit._rows import RowConfig, SuiteIndex, index_suite, norm_row_text
from ftlineage.audit._scanners import prefilter
from ftlineage.audit._semantic import Embedder
from ftlineage.audit._semantic_pass import semantic_pass
from ftlineage.audit._stats import decide
from ftlineage.data import Chunk, plan_chunks
from ftlineage.errors import CorpusError
from ftlineage.lineage import sha256_files
from ftlineage.recipe import AuditPolicy
from ftlineage.settings import Settings


@dataclass
class AuditResult:
    """The report, plus what writing the outputs needs: flags per record and the keep mask."""

    report: AuditReport
    facts: Facts
    chunks: list[Chunk]
    kept: np.ndarray


def audit_corpus(
    paths: Sequence[Path],
    policy: AuditPolicy,
    *,
    suite_prompts: dict[str, str],
    seed: int,
    engine: str = "local",
    workers: int | None = None,
    corpus_sha: str | None = None,
    embedder: Embedder | None = None,
    label_noise: LabelNoise | None = None,
    progress: bool | None = None,
    settings: Settings | None = None,
) -> AuditResult:
    """Audit the corpus at ``paths`` before tokenization (see the module docstring)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    chunks = plan_chunks(paths)
    sha = corpus_sha or sha256_files(Path(f) for f in dict.fromkeys(c.file for c in chunks))
    base = RowConfig(
        policy.shingle_size,
        policy.num_perm,
        policy.lsh_bands,
        seed,
        policy.near_duplicate_threshold,
        policy.max_row_bytes,
        SuiteIndex(),
    )
    cfg = dataclasses.replace(base, suite=index_suite(suite_prompts, base))
    env = settings or Settings.from_env()
    show = env.progress if progress is None else progress
    results = run_chunks(chunks, cfg, engine=engine, workers=workers or env.num_threads)
    facts = merge(tqdm(results, total=len(chunks), desc="audit: scan rows", unit="chunk", disable=not show))
    timings["scan_s"], clock = time.perf_counter() - clock, time.perf_counter()
    if not facts.valid.any():
        first = facts.errors[0][1] if facts.errors else "no rows"
        raise CorpusError(f"{', '.join(map(str, paths))}: no valid row to audit (first problem: {first})")
    roots = exact_roots(facts)
    active = facts.valid & (roots == np.arange(facts.n))
    near = near_links(facts, active, lambda idx: _texts(facts, chunks, idx, policy), policy, seed)
    timings["near_dedup_s"], clock = time.perf_counter() - clock, time.perf_counter()
    semantic = semantic_pass(
        facts, chunks, active, policy, suite_prompts, embedder, show, cache_dir=env.cache_dir, seed=seed
    )
    timings["semantic_s"], clock = time.perf_counter() - clock, time.perf_counter()
    dups = assign_duplicates(facts, roots, near, semantic.links, policy)
    conflicts = label_conflicts(facts)
    report, kept = decide(facts, dups, conflicts, policy, semantic.status, label_noise)
    timings["decide_s"] = time.perf_counter() - clock
    report = AuditReport.model_validate(  # validated again, not model_copy: the report masks its text
        report.model_dump()
        | {
            "corpus_sha": sha,
            "engine": engine,
            "scanner_engine": prefilter().engine,
            "seed": seed,
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
            "findings": report.findings + ((semantic.incomplete,) if semantic.incomplete else ()),
        }
    )
    return AuditResult(report=report, facts=facts, chunks=chunks, kept=kept)


def _texts(f: Facts, chunks: Sequence[Chunk], idx: list[int], policy: AuditPolicy) -> dict[int, str]:
    """Normalized dedup text of the records ``idx``, read back from the corpus."""
    return {i: norm_row_text(row) for i, row in f.read(chunks, idx, policy.max_row_bytes).items()}
