"""What the stages of one job share (the context) and what each hands the next (typed outputs).

A stage reads the context and the outputs of the stages before it, passed as arguments, and
returns its own: a missing input is a type error, not a ``KeyError`` at minute nine. The
lineage is a :class:`~ftlineage.lineage.LineageManifest` from the first stage on; each stage
adds the digests it produced with :meth:`JobContext.add_lineage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage.audit import AuditReport
from ftlineage.lineage import LineageManifest
from ftlineage.models import PromptFormat
from ftlineage.recipe import Recipe
from ftlineage.scoring import SuiteScores
from ftlineage.settings import Settings
from ftlineage.suites import Suite
from ftlineage.tracking import Registry, Tracker

Row = dict[str, Any]


@dataclass
class JobContext:
    """Everything a stage reads, and the lineage the stages fill in."""

    recipe: Recipe
    suite: Suite
    settings: Settings
    tracker: Tracker
    registry: Registry
    out: Path
    rows: list[Row]
    lineage: LineageManifest
    in_script: bool = False  # gating a user's own run: params prefixed, the run left open

    def add_lineage(self, **digests: str) -> None:
        """Record digests a stage produced (an unknown name is refused)."""
        self.lineage = self.lineage.extend(**digests)

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
class Audited:
    """Stage 1's output: the report and the rows it kept (in corpus order)."""

    report: AuditReport
    kept: list[Row]


@dataclass(frozen=True)
class Split:
    """The seeded split of the kept rows, plus the replay rows mixed into training."""

    train: list[Row]
    validation: list[Row]
    replay: list[Row]


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: who answers (``generator``) and how prompts are rendered.

    ``tokenizer`` renders chat templates (``None`` for an endpoint, which renders its own);
    ``model`` is the weights in process, or ``None``.
    """

    generator: Any
    fmt: PromptFormat
    tokenizer: Any = None
    model: Any = None


@dataclass(frozen=True)
class Trained:
    """Stage 2's output: the chosen checkpoint exported (merged), and both models' scores.

    A candidate not trained here fills the same fields: ``model`` is ``None`` for an endpoint.
    """

    base_ref: str
    model: Any
    tokenizer: Any
    baseline: SuiteScores
    candidate: SuiteScores
    best_step: int
    assessments: tuple[Any, ...] = ()
    prompt_format: PromptFormat = PromptFormat()
    arms: tuple[Arm, Arm] | None = None  # (candidate, baseline) when not both in-process models


@dataclass(frozen=True)
class Baseline:
    """What the gate compares against: ``base`` or ``<champion alias>:vN``, and its scores."""

    label: str
    scores: SuiteScores


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
    failures: str = ""  # the failure feed's top clusters, for the terminal (blocked runs)
    tiers: str = ""  # the quantization tiers table (Markdown), when the recipe has tiers
