"""Stage 1: corpus audit before tokenization.

Dedup (exact, MinHash-LSH, embedding), eval leakage, secret / PII / injection / URL / code /
invisible-Unicode scanners, label conflicts and noise, skew and refusal contamination. Pure
functions return frozen, versioned reports; :func:`write_outputs` writes the files. Every text
written goes through one masking sink: :func:`mask_sensitive` (reports are :class:`MaskedModel`).
"""

from ftlineage.audit._audit import AuditResult, audit_corpus
from ftlineage.audit._engine import ENGINES
from ftlineage.audit._labels import cohen_kappa, read_relabels, relabel_csv
from ftlineage.audit._minhash import jaccard, normalize, shingle_set
from ftlineage.audit._outputs import write_outputs
from ftlineage.audit._report import FLAGS, AuditReport, LabelNoise, render_markdown
from ftlineage.audit._scanners import Finding, mask_secrets, mask_sensitive, redact, scan_text
from ftlineage.audit._semantic import BUNDLED_MODEL, Embedder, SentenceTransformerEmbedder, get_embedder
from ftlineage.audit._sink import MaskedModel, mask_tree

__all__ = [
    "BUNDLED_MODEL",
    "ENGINES",
    "FLAGS",
    "AuditReport",
    "AuditResult",
    "Embedder",
    "Finding",
    "LabelNoise",
    "MaskedModel",
    "SentenceTransformerEmbedder",
    "audit_corpus",
    "cohen_kappa",
    "get_embedder",
    "jaccard",
    "normalize",
    "read_relabels",
    "redact",
    "relabel_csv",
    "render_markdown",
    "mask_secrets",
    "mask_sensitive",
    "mask_tree",
    "scan_text",
    "shingle_set",
    "write_outputs",
]
