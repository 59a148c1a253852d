"""State shared by the stages of one job."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftlineage.recipe import Recipe
from ftlineage.settings import Settings
from ftlineage.suites import Suite
from ftlineage.tracking import Tracker


@dataclass
class JobContext:
    """Everything a stage reads; each stage adds what it produced."""

    recipe: Recipe
    suite: Suite
    settings: Settings
    tracker: Tracker
    out: Path
    rows: list[dict[str, Any]]
    lineage: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    def stage_dir(self, name: str) -> Path:
        """A local folder for one stage's outputs (uploaded as ``name/`` artifacts)."""
        path = self.out / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, stage: str, filename: str, text: str) -> Path:
        """Write a stage output file and upload it at once, so a later crash loses nothing."""
        path = self.stage_dir(stage) / filename
        path.write_text(text, encoding="utf-8")
        self.tracker.log_artifact(path, stage)
        return path


@dataclass(frozen=True)
class JobResult:
    """What the job ended with."""

    run_id: str
    decision: str
    exit_code: int
    out_dir: Path
    version: str | None
    reasons: tuple[str, ...]
    warnings: tuple[str, ...] = ()
