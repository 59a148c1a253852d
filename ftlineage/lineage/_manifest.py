"""The lineage manifest: every SHA a score must carry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TAG_PREFIX = "ftlineage."


def lineage_tags(values: dict[str, str]) -> dict[str, str]:
    """``{"prompt_sha": v}`` -> ``{"ftlineage.prompt_sha": v}``; empty values left out."""
    return {TAG_PREFIX + k: str(v) for k, v in values.items() if v not in ("", None)}


class LineageManifest(BaseModel):
    """SHA-256 digests identifying everything a score depends on.

    Written to disk: do not reorder or rename fields without bumping ``schema_version``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    prompt_sha: str
    dataset_sha: str = Field(description="the training rows after audit and split")
    corpus_sha: str = Field(description="the raw corpus as read, before the audit")
    base_model_sha: str
    model_sha: str = ""
    suite_sha: str
    code_sha: str
    recipe_sha: str
    seed: int

    def tags(self) -> dict[str, str]:
        """The manifest as ``ftlineage.*`` tags (empty values left out)."""
        return lineage_tags({k: v for k, v in self.model_dump().items() if k != "schema_version"})
