"""The bundled healthcare post-call task: clinic call transcript -> JSON of six fields.

Its fields, transcript generator, scorers (``postcall_extraction``, ``postcall_rubric``),
suite builder (``healthcare_v17``) and demo-corpus builder live here and nowhere else.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftlineage.tasks.general import drift_part
from ftlineage.tasks.healthcare import _data

LLM_RUBRIC = (
    "You compare two answers to the same request. The request asks for the facts of a call "
    "transcript as one JSON object. Prefer the answer that is valid JSON, states only facts found "
    "in the transcript, and leaves out nothing that is there. Ignore length and order of answers."
)
PARTS: dict[str, dict[str, Any]] = {
    "heldout": {
        "max_new_tokens": 72,
        "scorers": [{"name": "postcall_extraction", "flatten": True}],
        "gate": [
            {"metric": "heldout/field_accuracy", "direction": "higher"},
            {"metric": "heldout/json_valid", "direction": "higher"},
            {"metric": "heldout/hallucination_rate", "direction": "lower"},
        ],
    },
    "arena": {
        "max_new_tokens": 72,
        "scorers": [{"name": "postcall_rubric"}],
        "rubric": LLM_RUBRIC,
        "rubric_version": "postcall-rubric-v1",
    },
}
SEEDS = {"heldout": 1701, "drift": 1702, "arena": 1703}


def build_healthcare_v17(path: Path) -> None:
    """healthcare_v17: 160 held-out, 200 drift (40 per family), 320 arena cases."""
    from ftlineage.data import _general
    from ftlineage.suites import write_bundled

    heldout = _data.make_rows(SEEDS["heldout"], 160, prefix="heldout", source="suite")
    arena = _data.make_rows(SEEDS["arena"], 320, prefix="arena", source="suite")
    write_bundled(
        path,
        name="healthcare_v17",
        version=17,
        description="Post-call extraction from clinic phone-call transcripts into JSON, with a "
        "frozen general-capability drift part and a production-like arena pool.",
        task="healthcare_postcall",
        parts={
            "heldout": {"file": "heldout.jsonl", **PARTS["heldout"]},
            "drift": drift_part(),
            "arena": {"file": "arena.jsonl", **PARTS["arena"]},
        },
        files={
            "heldout.jsonl": [
                {"id": r["id"], "prompt": r["prompt"], "reference": r["completion"]} for r in heldout
            ],
            "drift.jsonl": _general.make_cases(SEEDS["drift"], 40, prefix="drift"),
            "arena.jsonl": [{"id": r["id"], "prompt": r["prompt"]} for r in arena],
        },
    )


class HealthcareTask:
    """The ``healthcare_postcall`` task."""

    name = "healthcare_postcall"
    description = "clinic call transcript -> JSON with six fields, grounded in the transcript"

    def parts(self) -> Mapping[str, Mapping[str, Any]]:
        """Held-out extraction scorer and gate metrics; the extraction rubric for the arena."""
        return PARTS

    def suites(self) -> Mapping[str, Any]:
        """``healthcare_v17``."""
        return {"healthcare_v17": build_healthcare_v17}

    def pretraining_case(self, rng: random.Random) -> dict[str, str]:
        """A call summarized in another schema (caller, when, topic): grounding, not this task."""
        return _data.summary_case(rng)
