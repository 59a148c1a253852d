"""Small pure text helpers shared by scorers, the audit and the arena rubric."""

from __future__ import annotations

import json
import re
from typing import Any

_REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i can(?:no|')t (?:help|assist|do)|i cannot (?:help|assist)|"
    r"i'?m (?:not able|unable) to|as an ai\b|i won'?t be able to|i must decline)",
    re.IGNORECASE,
)


# Every alternative of _REFUSAL contains one of these; checking them first skips the regex for
# almost all text (the audit calls this on every row of a million-row corpus).
_REFUSAL_HINTS = ("sorry", "i can", "unable", "not able", "as an ai", "be able", "decline")


def is_refusal(text: str) -> bool:
    """Whether ``text`` reads as refusal boilerplate."""
    low = text.lower()
    return any(h in low for h in _REFUSAL_HINTS) and bool(_REFUSAL.search(text))


def normalize(text: str) -> str:
    """Case-fold and collapse whitespace for lenient exact comparison."""
    return " ".join(text.split()).casefold()


def parse_json_object(text: str) -> dict[str, Any] | None:
    """Parse the first JSON object in ``text``; ``None`` when there is none."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
