"""Canonical SHA-256 lineage of prompts, rows, datasets, weights, suites and code."""

from ftlineage.lineage._hash import (
    CANON_VERSION,
    PROMPT_CONTENT_TAGS,
    canonical_json,
    sha256_bytes,
    sha256_content,
    sha256_file,
    sha256_files,
    sha256_json,
    sha256_prompt,
    sha256_prompt_content,
    sha256_rows,
    sha256_state_dict,
    sha256_tree,
)
from ftlineage.lineage._manifest import TAG_PREFIX, LineageManifest, lineage_tags

__all__ = [
    "CANON_VERSION",
    "PROMPT_CONTENT_TAGS",
    "TAG_PREFIX",
    "LineageManifest",
    "canonical_json",
    "code_sha",
    "lineage_tags",
    "sha256_bytes",
    "sha256_content",
    "sha256_file",
    "sha256_files",
    "sha256_json",
    "sha256_prompt",
    "sha256_prompt_content",
    "sha256_rows",
    "sha256_state_dict",
    "sha256_tree",
]


def code_sha() -> str:
    """Digest of the installed ftlineage package source."""
    from pathlib import Path

    return sha256_tree(Path(__file__).resolve().parent.parent)
