"""The typed eval case: what every suite part holds and every scorer reads.

A case is one line of a suite's JSONL file::

    {"id": "c1", "prompt": "...", "reference": "...", "context": "...", "tags": ["x"]}
    {"id": "c2", "messages": [{"role": "user", "content": "..."}], "reference": {...}}

``prompt`` **or** ``messages`` is required; ``reference``, ``context``, ``family`` and
``tags`` are optional, and any other key is kept in :attr:`Case.fields` for the scorers that
need it (``should_refuse`` for ``refusal``, ``schema`` for ``json_schema``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ftlineage.errors import SuiteError
from ftlineage.readers import chat_turns, flatten_turns, parse_json

_KNOWN = ("id", "prompt", "messages", "reference", "context", "family", "tags")


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: str
    content: str


@dataclass(frozen=True)
class Case:
    """One eval case. ``reference`` may be a string or any JSON value; ``None`` = no reference."""

    id: str
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    reference: Any = None
    context: str | None = None
    family: str | None = None
    tags: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def input_text(self) -> str:
        """The case's input as one string: the prompt, or the messages as ``Role: content`` lines.

        Models without a chat template see this text inside the recipe's prompt template;
        scorers that look for values "in the input" (``grounded``) search it and ``context``.
        """
        if self.prompt is not None:
            return self.prompt
        return flatten_turns(self.messages or ())

    @property
    def reference_text(self) -> str | None:
        """The reference as text (JSON for a structured reference); ``None`` without one."""
        if self.reference is None or isinstance(self.reference, str):
            return self.reference
        return json.dumps(self.reference, ensure_ascii=False)

    def get(self, key: str, default: Any = None) -> Any:
        """An extra field a scorer needs (``should_refuse``, ``answer``, ``schema``...)."""
        return self.fields.get(key, default)

    def to_row(self) -> dict[str, Any]:
        """The JSON object this case was read from (known keys first, then extras)."""
        row: dict[str, Any] = {"id": self.id}
        if self.prompt is not None:
            row["prompt"] = self.prompt
        if self.messages is not None:
            row["messages"] = [{"role": m.role, "content": m.content} for m in self.messages]
        for key in ("reference", "context", "family"):
            if getattr(self, key) is not None:
                row[key] = getattr(self, key)
        if self.tags:
            row["tags"] = list(self.tags)
        return {**row, **self.fields}


def _messages(raw: Any, where: str) -> tuple[Message, ...]:
    return tuple(Message(**t) for t in chat_turns(raw, where, SuiteError))


def case_from_row(row: Any, where: str) -> Case:
    """Validate one JSON object as a :class:`Case`; ``where`` (``file:line``) prefixes every error."""
    if not isinstance(row, dict):
        raise SuiteError(f"{where}: each case must be a JSON object, got {type(row).__name__}")
    if not isinstance(row.get("id"), str | int) or isinstance(row.get("id"), bool) or row.get("id") == "":
        raise SuiteError(f"{where}: the case needs an 'id' (a non-empty string); got {row.get('id')!r}")
    has_prompt, has_messages = "prompt" in row, "messages" in row
    if has_prompt == has_messages:
        raise SuiteError(
            f"{where}: case {row['id']!r} needs exactly one of 'prompt' (a string) or 'messages' "
            "(a list of {role, content}); add one"
        )
    if has_prompt and not isinstance(row["prompt"], str):
        raise SuiteError(f"{where}: case {row['id']!r}: 'prompt' must be a string, got {row['prompt']!r:.60}")
    for key in ("context", "family"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise SuiteError(f"{where}: case {row['id']!r}: {key!r} must be a string")
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise SuiteError(f"{where}: case {row['id']!r}: 'tags' must be a list of strings")
    return Case(
        id=str(row["id"]),
        prompt=row.get("prompt"),
        messages=_messages(row["messages"], where) if has_messages else None,
        reference=row.get("reference"),
        context=row.get("context"),
        family=row.get("family"),
        tags=tuple(tags),
        fields=MappingProxyType({k: v for k, v in row.items() if k not in _KNOWN}),
    )


def read_cases(text: str, where: str) -> tuple[Case, ...]:
    """Parse JSONL text into cases; duplicate ids and bad lines are refused with ``where:line``."""
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = parse_json(line)
        except ValueError as exc:  # also nested too deeply, a lone surrogate, a 100,000-digit number
            raise SuiteError(
                f"{where}:{lineno}: invalid JSON ({exc}); write one JSON object per line"
            ) from None
        case = case_from_row(row, f"{where}:{lineno}")
        if case.id in seen:
            raise SuiteError(
                f"{where}:{lineno}: duplicate case id {case.id!r} (first on line {seen[case.id]}); "
                "give every case its own id"
            )
        seen[case.id] = lineno
        cases.append(case)
    return tuple(cases)
