"""The lineage manifest: every SHA a score must carry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ftlineage.tags import PREFIX as TAG_PREFIX
from ftlineage.tags import lineage_tags

__all__ = ["TAG_PREFIX", "LineageManifest", "lineage_tags"]


class LineageManifest(BaseModel):
    """SHA-256 digests identifying everything a score depends on.

    Written to disk: do not reorder or rename fields without bumping ``schema_version``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    prompt_sha: str
    dataset_sha: str = Field("", description="the training rows after audit and split")
    corpus_sha: str = Field(description="the raw corpus as read, before the audit")
    base_model_sha: str = Field("", description="the weights training started from")
    model_sha: str = Field("", description="the trained (merged) weights")
    suite_sha: str
    code_sha: str
    recipe_sha: str
    seed: int

    def digests(self) -> dict[str, str]:
        """The digests known so far (a job fills them in as its stages run), by field name."""
        return {k: v for k, v in self.model_dump().items() if k.endswith("_sha") and v}

    def extend(self, **digests: str) -> LineageManifest:
        """A copy with more digests; an unknown name is an error, not a silent new key."""
        return LineageManifest.model_validate({**self.model_dump(), **digests})

    def tags(self) -> dict[str, str]:
        """The digests as ``ftlineage.*`` tags (empty values left out)."""
        return lineage_tags(self.digests())
