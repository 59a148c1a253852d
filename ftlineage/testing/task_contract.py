"""The ``Task`` contract as a reusable test suite: every task's tests subclass it.

    class TestMyTask(TaskContract):
        name = "my_task"

Checks: the task is found by name, its part defaults validate as ``suite.yaml`` parts and build
their scorers, and each suite it bundles is rebuilt byte for byte into a suite that loads and
whose declared gate metrics its scorers produce.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

from ftlineage.tasks import Task, get_task


class TaskContract:
    """Subclass and set ``name``."""

    name: ClassVar[str]

    def task(self) -> Task:
        """The task, found through the ``ftlineage.tasks`` entry points."""
        return get_task(self.name)

    def test_found_by_name(self) -> None:
        """The entry point builds a Task with this name."""
        task = self.task()
        assert isinstance(task, Task)
        assert task.name == self.name
        assert task.description

    def test_part_defaults_are_valid_suite_parts(self) -> None:
        """Part defaults validate as suite.yaml parts and their scorers build."""
        from ftlineage.suites import PARTS, PartSpec
        from ftlineage.tasks import build_scorer

        for part, settings in self.task().parts().items():
            assert part in PARTS
            spec = PartSpec.model_validate(
                {"file": "x.jsonl", **settings} if "suite" not in settings else settings
            )
            for scorer in [*spec.scorers, *spec.families.values()]:
                build_scorer(scorer, f"task {self.name} part {part}")

    def test_bundled_suites_rebuild_identically_and_load(self, tmp_path: Path) -> None:
        """Each bundled suite rebuilds byte for byte and loads."""
        from ftlineage import suites

        for name, build in self.task().suites().items():
            build(tmp_path / name)
            for file in (suites.bundled_root() / name).iterdir():
                assert (tmp_path / name / file.name).read_bytes() == file.read_bytes(), (name, file.name)
            suite = suites.load(str(tmp_path / name))
            produced = suite.produced_metrics()
            assert all(m.metric in produced for m in suite.gate_metrics())

    def test_pretraining_cases_when_offered_are_seeded_text_pairs(self) -> None:
        """An optional ``pretraining_case(rng)`` returns prompt/reference strings drawn only from ``rng``."""
        make = getattr(self.task(), "pretraining_case", None)
        if make is None:
            return
        first = [make(random.Random(7)) for _ in range(3)]
        assert first == [make(random.Random(7)) for _ in range(3)]
        for case in first:
            assert isinstance(case["prompt"], str)
            assert isinstance(case["reference"], str)
