"""Tasks: a named bundle of how one kind of work is scored, found through ``ftlineage.tasks``.

A task supplies, per suite part, the scorers, the gate's default metrics and the arena rubric
(what ``ftlineage suite new --task NAME`` writes into ``suite.yaml``), and may build its
bundled suites. Everything a suite is scored with is then written in its ``suite.yaml`` and
locked, so a suite scores the same whatever the installed task code later says.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ftlineage.errors import BadInputError

ENTRY_POINT_GROUP = "ftlineage.tasks"


@runtime_checkable
class Task(Protocol):
    """A kind of work ftlineage can gate.

    Contract:
        * ``name`` is the entry-point name; ``description`` one line for ``suite show``.
        * ``parts()`` maps part names (``heldout``, ``arena``, optionally ``drift``) to
          ``suite.yaml`` part settings (``scorers``, ``gate``, ``families``, ``rubric``,
          ``max_new_tokens``...) that validate as :class:`ftlineage.suites.PartSpec` fields
          once a ``file`` or ``suite`` is added.
        * ``suites()`` maps the names of the suites this task bundles to a builder
          ``build(path)`` that writes them deterministically (same bytes on every run).
        * Optionally ``pretraining_case(rng) -> {"prompt": str, "reference": str}``: one
          generated case of the task's *kind* of work in a schema other than its held-out
          parts', drawn only from ``rng`` (a ``random.Random``). The offline tiny base model
          (:func:`pretraining_cases`) learns grounding from these without ever seeing the task.
    """

    @property
    def name(self) -> str:
        """Registered task name."""

    @property
    def description(self) -> str:
        """One line."""

    def parts(self) -> Mapping[str, Mapping[str, Any]]:
        """Default ``suite.yaml`` settings per part."""

    def suites(self) -> Mapping[str, Any]:
        """Bundled suite name -> ``build(path: Path) -> None``."""


def available_tasks() -> dict[str, Any]:
    """Task factories by name, from the ``ftlineage.tasks`` entry-point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def get_task(name: str) -> Task:
    """The task registered as ``name``; an unknown name lists the valid ones."""
    found = available_tasks()
    if name not in found:
        raise BadInputError(f"unknown task {name!r}: valid tasks are {', '.join(sorted(found))}")
    task = found[name].load()()
    if not isinstance(task, Task):
        raise BadInputError(f"entry point {name!r} in {ENTRY_POINT_GROUP} did not build a Task")
    return task


def pretraining_cases(name: str, rng: Any, n: int) -> list[dict[str, str]]:
    """``n`` pretraining cases from task ``name`` (its optional ``pretraining_case`` hook)."""
    task = get_task(name)
    make = getattr(task, "pretraining_case", None)
    if make is None:
        raise BadInputError(f"task {name!r} offers no pretraining_case(rng) for the tiny base model")
    return [make(rng) for _ in range(n)]


def suite_builders() -> dict[str, Any]:
    """Every bundled suite's builder, across the installed tasks."""
    out: dict[str, Any] = {}
    for name in sorted(available_tasks()):
        out.update(get_task(name).suites())
    return out


def build_suite(name: str, path: Path) -> None:
    """(Maintainers) regenerate a bundled suite's files and lock into ``path``."""
    builders = suite_builders()
    if name not in builders:
        raise BadInputError(f"no builder for suite {name!r}; known: {', '.join(sorted(builders))}")
    builders[name](path)
