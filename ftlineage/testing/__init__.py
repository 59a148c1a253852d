"""Helpers for testing ftlineage and its adapters (no network, no GPU).

* Conformance suites to subclass: :class:`TrackerContract`, :class:`RegistryContract`,
  :class:`ScorerContract`, :class:`TaskContract`.
* Fakes that satisfy the real contracts: :class:`ScriptedJudge` (also the ``scripted`` judge
  entry point), :class:`InMemoryTracker`, :class:`InMemoryRegistry`.
* Loopback servers: :func:`scripted_openai` (an OpenAI-compatible endpoint that answers from a
  function and counts requests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftlineage.testing.fakes import InMemoryRegistry, InMemoryTracker, ScriptedJudge, scripted_judge
    from ftlineage.testing.openai_server import ScriptedServer, scripted_openai
    from ftlineage.testing.registry_contract import RegistryContract
    from ftlineage.testing.scorer_contract import ScorerContract
    from ftlineage.testing.task_contract import TaskContract
    from ftlineage.testing.tracker_contract import Recorded, TrackerContract

__all__ = [
    "InMemoryRegistry",
    "InMemoryTracker",
    "Recorded",
    "RegistryContract",
    "ScorerContract",
    "ScriptedJudge",
    "ScriptedServer",
    "TaskContract",
    "TrackerContract",
    "scripted_judge",
    "scripted_openai",
]

_LAZY = {
    "InMemoryRegistry": "fakes",
    "InMemoryTracker": "fakes",
    "ScriptedJudge": "fakes",
    "scripted_judge": "fakes",
    "ScriptedServer": "openai_server",
    "scripted_openai": "openai_server",
    "RegistryContract": "registry_contract",
    "ScorerContract": "scorer_contract",
    "TaskContract": "task_contract",
    "Recorded": "tracker_contract",
    "TrackerContract": "tracker_contract",
}


def __getattr__(name: str) -> Any:
    """Import a helper on first use (some need pytest or MLflow)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'ftlineage.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"ftlineage.testing.{_LAZY[name]}"), name)
