"""The bundled salon-booking task: a customer message -> one tool call with arguments.

Scored by the general ``tool_call`` and ``json_schema`` scorers (no task-specific scorer);
the arena rubric is ``json_schema`` + ``grounded`` (argument values found in the message).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftlineage.tasks.salon import _data

SCHEMA_SCORER = {"name": "json_schema", "options": {"schema": _data.SCHEMA}}
PARTS: dict[str, dict[str, Any]] = {
    "heldout": {
        "max_new_tokens": 64,
        "scorers": [{"name": "tool_call"}, SCHEMA_SCORER],
        "gate": [
            {"metric": "heldout/tool_call.score", "direction": "higher"},
            {"metric": "heldout/tool_call.name", "direction": "higher"},
            {"metric": "heldout/json_schema", "direction": "higher"},
        ],
    },
    "arena": {
        "max_new_tokens": 64,
        "scorers": [SCHEMA_SCORER, {"name": "grounded", "options": {"fields": ["arguments"]}}],
        "rubric": "You compare two answers to a salon customer's message. The right answer is one JSON "
        "tool call (book_appointment, reschedule, cancel or ask_clarification) whose arguments are "
        "copied from the message. Prefer the valid call with the right tool and arguments.",
    },
}
SEEDS = {"heldout": 3301, "arena": 3303, "train": 3310}


def build_salon_booking_v3(path: Path) -> None:
    """salon_booking_v3: 160 held-out cases with reference calls, 240 arena prompts, general_v1 drift."""
    from ftlineage.suites import write_bundled

    held = _data.make_rows(SEEDS["heldout"], 160, prefix="heldout", source="suite")
    arena = _data.make_rows(SEEDS["arena"], 240, prefix="arena", source="suite")
    write_bundled(
        path,
        name="salon_booking_v3",
        version=3,
        description="Salon customer messages answered with one tool call (book_appointment, "
        "reschedule, cancel, ask_clarification) and its arguments.",
        task="salon_booking",
        parts={
            "heldout": {"file": "heldout.jsonl", **PARTS["heldout"]},
            "drift": {"suite": "general_v1"},
            "arena": {"file": "arena.jsonl", **PARTS["arena"]},
        },
        files={
            "heldout.jsonl": [
                {"id": r["id"], "prompt": r["prompt"], "reference": json.loads(r["completion"])} for r in held
            ],
            "arena.jsonl": [{"id": r["id"], "prompt": r["prompt"]} for r in arena],
        },
    )


def build_corpus(out: Path) -> None:
    """The demo training corpus ``salon_booking_train.jsonl`` (1,200 rows from two sources)."""
    from ftlineage.suites import write_jsonl

    rows = _data.make_rows(SEEDS["train"], 800, prefix="web", source="web_chat")
    rows += _data.make_rows(SEEDS["train"] + 1, 400, prefix="sms", source="sms")
    write_jsonl(out, rows)


class SalonTask:
    """The ``salon_booking`` task."""

    name = "salon_booking"
    description = "salon customer message -> one tool call with arguments"

    def parts(self) -> Mapping[str, Mapping[str, Any]]:
        """Held-out ``tool_call`` + ``json_schema``; arena rubric ``json_schema`` + ``grounded``."""
        return PARTS

    def suites(self) -> Mapping[str, Any]:
        """``salon_booking_v3``."""
        return {"salon_booking_v3": build_salon_booking_v3}
