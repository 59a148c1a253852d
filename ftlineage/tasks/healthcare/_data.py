"""Deterministic generator of clinic phone-call transcripts and their JSON extraction.

Every value in the reference JSON is copied verbatim from the transcript (or is
``null`` when the caller never says it), so the task is grounded extraction.
"""

from __future__ import annotations

import json
import random
from typing import Any

from ftlineage.data import FIRST, LAST, MONTHS, REASONS

FIELDS = ("patient_name", "date", "time", "reason", "insurance", "urgency")

INSURERS = (
    "Blue Cross",
    "Aetna",
    "Cigna",
    "UnitedHealthcare",
    "Kaiser",
    "Humana",
    "Medicare",
    "Medicaid",
    "Anthem",
    "Oscar Health",
    "Tricare",
    "Molina",
)
URGENCY_LINES = {
    "routine": ("It's routine, no rush.", "Just routine.", "Nothing serious, routine is fine."),
    "soon": ("I'd like to be seen soon.", "Fairly soon, if possible.", "Soon would be good."),
    "urgent": ("It's urgent.", "It feels urgent, honestly.", "Please treat it as urgent."),
}


def _time(rng: random.Random) -> str:
    hour = rng.randint(8, 17)
    minute = rng.choice(("00", "15", "30", "45"))
    suffix = "AM" if hour < 12 else "PM"
    return f"{hour if hour <= 12 else hour - 12}:{minute} {suffix}"


def sample_call(rng: random.Random) -> dict[str, Any]:
    """Draw one call's facts; ``insurance`` is ``None`` for self-pay callers."""
    return {
        "patient_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "date": f"{rng.choice(MONTHS)} {rng.randint(1, 28)}",
        "time": _time(rng),
        "reason": rng.choice(REASONS),
        "insurance": None if rng.random() < 0.15 else rng.choice(INSURERS),
        "urgency": rng.choice(tuple(URGENCY_LINES)),
    }


def render_transcript(facts: dict[str, Any], rng: random.Random) -> str:
    """Render a call as a short two-speaker transcript mentioning every known fact."""
    name = facts["patient_name"]
    opener = rng.choice(
        (
            f"Caller: Hi, this is {name}.",
            f"Caller: Hello, my name is {name}.",
            f"Caller: Hi, it's {name} calling.",
        )
    )
    reason = rng.choice(
        (
            f"I need an appointment for {facts['reason']}.",
            f"I'm calling about {facts['reason']}.",
            f"I'd like to come in for {facts['reason']}.",
        )
    )
    when = rng.choice(
        (
            f"Receptionist: What day works? Caller: {facts['date']} at {facts['time']}.",
            f"Receptionist: We have {facts['date']} at {facts['time']}. Caller: That works.",
        )
    )
    if facts["insurance"] is None:
        ins = rng.choice(
            (
                "Receptionist: Insurance? Caller: I'll pay myself.",
                "Receptionist: Insurance? Caller: No, self-pay.",
            )
        )
    else:
        ins = rng.choice(
            (
                f"Receptionist: Insurance? Caller: {facts['insurance']}.",
                f"Receptionist: Insurer? Caller: I have {facts['insurance']}.",
            )
        )
    ask = rng.choice(("Receptionist: Urgency? Caller: ", "Receptionist: How urgent? Caller: "))
    urg = ask + rng.choice(URGENCY_LINES[facts["urgency"]])
    middle = [when, ins, urg]
    rng.shuffle(middle)
    return " ".join([f"{opener} {reason}", *middle])


def reference_json(facts: dict[str, Any]) -> str:
    """The canonical completion: a compact JSON object in field order."""
    return json.dumps({k: facts[k] for k in FIELDS}, ensure_ascii=False)


def make_rows(seed: int, n: int, *, prefix: str, source: str) -> list[dict[str, Any]]:
    """Generate ``n`` corpus rows ``{id, prompt, completion, source}`` from ``seed``."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        facts = sample_call(rng)
        rows.append(
            {
                "id": f"{prefix}-{i:05d}",
                "prompt": render_transcript(facts, rng),
                "completion": reference_json(facts),
                "source": source,
            }
        )
    return rows


def summary_case(rng: random.Random) -> dict[str, Any]:
    """Pretraining only: a call summarized in a *different* schema (caller, when, topic).

    Gives a general base model the skill of grounding values in a transcript without
    ever showing it the production schema of the held-out task.
    """
    facts = sample_call(rng)
    ref = {
        "caller": facts["patient_name"],
        "when": f"{facts['date']} at {facts['time']}",
        "topic": facts["reason"],
    }
    return {
        "prompt": f"Summarize this call as JSON with caller, when and topic.\n"
        f"{render_transcript(facts, rng)}",
        "reference": json.dumps(ref),
    }
