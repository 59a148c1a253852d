"""Seeded synthetic traffic for the canary: equal or degraded challengers, planted faults.

Answers are built from the suite's reference extractions; a fault turns an answer into one
of the failures production sees (invalid JSON, a hallucinated value, dropped fields).
"""

from __future__ import annotations

import json
import random
from typing import Any

from ftlineage.suites import Suite
from ftlineage.tasks import Case

FAULTS = ("invalid_json", "hallucination", "dropped_fields")


def _fault(answer: str, kind: str, rng: random.Random) -> str:
    if kind == "invalid_json":
        return answer[: len(answer) // 2]
    obj = json.loads(answer)
    keys = sorted(obj)
    if kind == "hallucination":
        obj[rng.choice(keys)] = "Zebulon Quartz"  # a value the transcript never says
    else:
        for k in rng.sample(keys, k=len(keys) // 2):
            obj[k] = None
    return json.dumps(obj)


def _answer(case: Case, fault_rate: float, rng: random.Random) -> str:
    answer = str(case.reference_text)
    return _fault(answer, rng.choice(FAULTS), rng) if rng.random() < fault_rate else answer


def simulate_traffic(
    suite: Suite,
    n: int,
    *,
    seed: int,
    champion_faults: float,
    challenger_faults: float,
    users: int = 400,
    errors: float = 0.0,
) -> list[dict[str, Any]]:
    """``n`` requests from ``users`` users over the suite's held-out inputs.

    Each arm's answer is faulty with its own probability; an ``errors`` share of challenger
    answers is missing (an error or a timeout).
    """
    rng = random.Random(seed)
    cases = list(suite.heldout)
    out = []
    for i in range(n):
        case = rng.choice(cases)
        challenger = _answer(case, challenger_faults, rng)
        out.append(
            {
                "key": f"user-{rng.randrange(users)}-{i}",
                "prompt": case.input_text,
                "champion": _answer(case, champion_faults, rng),
                "challenger": None if rng.random() < errors else challenger,
            }
        )
    return out
