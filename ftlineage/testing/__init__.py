"""Helpers for testing ftlineage and its adapters (no network, no GPU).

* Conformance suites to subclass: :class:`TrackerContract`, :class:`RegistryContract`,
  :class:`ScorerContract`, :class:`TaskContract`, :class:`GeneratorContract`,
  :class:`QuantizerContract`.
* Fakes that satisfy the real contracts: :class:`ScriptedJudge` (also the ``scripted`` judge
  entry point), :class:`InMemoryTracker`, :class:`InMemoryRegistry`.
* Loopback servers: :func:`scripted_openai` (an OpenAI-compatible endpoint that answers from a
  function and counts requests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftlineage.lazy import lazy_getattr

if TYPE_CHECKING:
    from ftlineage.testing.fakes import InMemoryRegistry, InMemoryTracker, ScriptedJudge, scripted_judge
    from ftlineage.testing.generator_contract import GeneratorContract
    from ftlineage.testing.openai_server import ScriptedServer, scripted_openai
    from ftlineage.testing.quantizer_contract import QuantizerContract
    from ftlineage.testing.registry_contract import RegistryContract
    from ftlineage.testing.scorer_contract import ScorerContract
    from ftlineage.testing.task_contract import TaskContract
    from ftlineage.testing.tracker_contract import Recorded, TrackerContract

__all__ = [
    "GeneratorContract",
    "InMemoryRegistry",
    "InMemoryTracker",
    "QuantizerContract",
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
    "GeneratorContract": ("ftlineage.testing.generator_contract", "GeneratorContract"),
    "InMemoryRegistry": ("ftlineage.testing.fakes", "InMemoryRegistry"),
    "InMemoryTracker": ("ftlineage.testing.fakes", "InMemoryTracker"),
    "ScriptedJudge": ("ftlineage.testing.fakes", "ScriptedJudge"),
    "scripted_judge": ("ftlineage.testing.fakes", "scripted_judge"),
    "ScriptedServer": ("ftlineage.testing.openai_server", "ScriptedServer"),
    "scripted_openai": ("ftlineage.testing.openai_server", "scripted_openai"),
    "QuantizerContract": ("ftlineage.testing.quantizer_contract", "QuantizerContract"),
    "RegistryContract": ("ftlineage.testing.registry_contract", "RegistryContract"),
    "ScorerContract": ("ftlineage.testing.scorer_contract", "ScorerContract"),
    "TaskContract": ("ftlineage.testing.task_contract", "TaskContract"),
    "Recorded": ("ftlineage.testing.tracker_contract", "Recorded"),
    "TrackerContract": ("ftlineage.testing.tracker_contract", "TrackerContract"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)
