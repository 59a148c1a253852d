"""Deterministic generator of salon customer messages whose right answer is one tool call.

Tools: ``book_appointment(service, date, time, stylist?)``, ``reschedule(booking_id, date, time)``,
``cancel(booking_id)`` and ``ask_clarification(service, missing)`` when a booking request lacks
the date or the time. Every argument value except ``missing`` is copied from the message.
"""

from __future__ import annotations

import json
import random
from typing import Any

from ftlineage.data import FIRST, MONTHS

SERVICES = (
    "haircut",
    "beard trim",
    "color touch-up",
    "blowout",
    "manicure",
    "pedicure",
    "highlights",
    "eyebrow wax",
    "deep conditioning",
    "kids haircut",
    "balayage",
    "scalp treatment",
)
TOOLS = ("book_appointment", "reschedule", "cancel", "ask_clarification")
_GREET = ("Hi!", "Hello,", "Hey there.", "Good morning.", "Hi team,", "")
_BOOK = (
    "{g} Can I book a {service} on {date} at {time}{with_}?",
    "{g} I'd like a {service} {date} at {time}{with_}, please.",
    "{g} Do you have {time} on {date} for a {service}{with_}?",
    "{g} Please put me down for a {service}{with_} on {date}, {time}.",
    "{g} Looking to get a {service} at {time} on {date}{with_}.",
)
_RESCHEDULE = (
    "{g} I need to move booking {bid} to {date} at {time}.",
    "{g} Could you change my appointment {bid}? {date} at {time} works better.",
    "{g} Please reschedule {bid} to {time} on {date}.",
    "{g} Something came up - can booking {bid} be {date}, {time} instead?",
)
_CANCEL = (
    "{g} Please cancel booking {bid}.",
    "{g} I can't make it, cancel {bid} please.",
    "{g} Cancel my appointment {bid}, thanks.",
    "{g} I won't be coming in, booking {bid} can be cancelled.",
)
_VAGUE = (
    "{g} I want a {service}{known}. What do you have?",
    "{g} Could I come in for a {service}{known}?",
    "{g} Need a {service} sometime{known}.",
)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "arguments"],
    "properties": {
        "name": {"enum": list(TOOLS)},
        "arguments": {"type": "object"},
    },
    "allOf": [
        {
            "if": {"properties": {"name": {"const": "book_appointment"}}},
            "then": {"properties": {"arguments": {"required": ["service", "date", "time"]}}},
        },
        {
            "if": {"properties": {"name": {"const": "reschedule"}}},
            "then": {"properties": {"arguments": {"required": ["booking_id", "date", "time"]}}},
        },
        {
            "if": {"properties": {"name": {"const": "cancel"}}},
            "then": {"properties": {"arguments": {"required": ["booking_id"]}}},
        },
        {
            "if": {"properties": {"name": {"const": "ask_clarification"}}},
            "then": {"properties": {"arguments": {"required": ["missing"]}}},
        },
    ],
}


def _time(rng: random.Random) -> str:
    hour = rng.randint(9, 19)
    minute = rng.choice(("00", "15", "30", "45"))
    return f"{hour if hour <= 12 else hour - 12}:{minute} {'AM' if hour < 12 else 'PM'}"


def _date(rng: random.Random) -> str:
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"


def _bid(rng: random.Random) -> str:
    return f"B-{rng.randint(1000, 9999)}"


def sample(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One message and its tool call ``{"name", "arguments"}``."""
    g, roll = rng.choice(_GREET), rng.random()
    if roll < 0.4:
        args = {"service": rng.choice(SERVICES), "date": _date(rng), "time": _time(rng)}
        stylist = rng.choice(FIRST) if rng.random() < 0.4 else None
        text = rng.choice(_BOOK).format(g=g, with_=f" with {stylist}" if stylist else "", **args)
        if stylist:
            args["stylist"] = stylist
        call = {"name": "book_appointment", "arguments": args}
    elif roll < 0.6:
        args = {"booking_id": _bid(rng), "date": _date(rng), "time": _time(rng)}
        text = rng.choice(_RESCHEDULE).format(
            g=g, bid=args["booking_id"], date=args["date"], time=args["time"]
        )
        call = {"name": "reschedule", "arguments": args}
    elif roll < 0.8:
        bid = _bid(rng)
        call = {"name": "cancel", "arguments": {"booking_id": bid}}
        text = rng.choice(_CANCEL).format(g=g, bid=bid)
    else:
        service, date = rng.choice(SERVICES), _date(rng)
        has_date = rng.random() < 0.5
        missing = "time" if has_date else "date and time"
        text = rng.choice(_VAGUE).format(g=g, service=service, known=f" on {date}" if has_date else "")
        call = {"name": "ask_clarification", "arguments": {"service": service, "missing": missing}}
    return text.strip(), call


def make_rows(seed: int, n: int, *, prefix: str, source: str) -> list[dict[str, Any]]:
    """``n`` corpus rows ``{id, prompt, completion, source}`` (the completion is the call as JSON)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text, call = sample(rng)
        rows.append(
            {
                "id": f"{prefix}-{i:05d}",
                "prompt": f"Customer: {text}",
                "completion": json.dumps(call),
                "source": source,
            }
        )
    return rows
