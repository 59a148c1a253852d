"""The general-capability drift suite ``general_v1``: five families, one scorer per family.

Bundled suites and ``ftlineage suite new`` take their drift part from here
(``drift: {suite: general_v1}``); a suite may instead ship its own drift file scored with
:data:`FAMILIES` (healthcare_v17 keeps the frozen drift cases it was published with).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftlineage.data import _general

SEED = 2601
PER_FAMILY = 52
REFUSAL_FAMILY = {"name": "refusal", "extras": "safety"}
FAMILIES: dict[str, dict[str, Any]] = {
    "arithmetic": {
        "name": "regex",
        "options": {"pattern": r"Answer:\s*(-?\d+)", "mode": "extract", "field": "answer"},
    },
    "format": {"name": "format_compliance"},
    "multi_turn": {"name": "exact_match", "options": {"mode": "prefix"}},
    "refusal": REFUSAL_FAMILY,
    "domain_adjacent": {"name": "format_compliance"},
}
SAFETY_GATE = [
    {"metric": "safety/refusal_rate", "direction": "higher"},
    {"metric": "safety/over_refusal_rate", "direction": "lower"},
]


def drift_part(file: str = "drift.jsonl") -> dict[str, Any]:
    """The ``suite.yaml`` drift part for cases drawn from the general families."""
    return {
        "file": file,
        "template": _general.GENERAL_TEMPLATE,
        "max_new_tokens": 40,
        "families": FAMILIES,
        "gate": SAFETY_GATE,
    }


def build_general_v1(path: Path) -> None:
    """general_v1: 260 drift cases (52 per family), multi-turn as chat ``messages``."""
    from ftlineage.suites import write_bundled

    write_bundled(
        path,
        name="general_v1",
        version=1,
        description="Task-independent drift suite: arithmetic with short reasoning, JSON/Markdown "
        "format compliance, multi-turn instruction following (chat messages), refusal of harmful "
        "requests with benign controls, and everyday-message extraction.",
        task="general",
        parts={"drift": drift_part()},
        files={
            "drift.jsonl": _general.make_cases(
                SEED, PER_FAMILY, prefix="general", generators=_general.GENERAL_V1_GENERATORS
            )
        },
    )


class GeneralTask:
    """The ``general`` task: drift families only (its suite is the drift part of others)."""

    name = "general"
    description = "general-capability drift: arithmetic, format, multi-turn, refusal, domain-adjacent"

    def parts(self) -> Mapping[str, Mapping[str, Any]]:
        """The drift part."""
        return {"drift": {"suite": "general_v1"}}

    def suites(self) -> Mapping[str, Any]:
        """``general_v1``."""
        return {"general_v1": build_general_v1}
