"""Reading files a user hands us: bounded, UTF-8, and strict YAML (recipes, suite metadata, gate rules).

Plain ``yaml.safe_load`` accepts three things a config file never needs and an attacker can use:
aliases (a 1 KB "billion laughs" document expands to gigabytes), unbounded nesting (a
``RecursionError``) and duplicate keys (the second silently wins). This reader refuses all
three, bounds the file's size, and turns undecodable bytes into an error naming the file.
Every refusal is a :class:`~ftlineage.errors.BadInputError` of the caller's kind, one line,
naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from ftlineage.errors import BadInputError, FtlineageError

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 2_000_000
MAX_DEPTH = 50


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases or duplicate keys, with a nesting bound."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise _Refused(line, "YAML aliases (*name) are not allowed here; write the value out in full")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise _Refused(line, f"nested deeper than {MAX_DEPTH} levels; flatten the structure")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                raise _Refused(key_node.start_mark.line + 1, "a mapping key must be a plain value") from None
            if duplicate:
                raise _Refused(key_node.start_mark.line + 1, f"duplicate key {key!r}; keep one of the two")
        return super().construct_mapping(node, deep=deep)


def read_text(
    path: Path, what: str, error: type[BadInputError] = BadInputError, *, limit: int | None = MAX_BYTES
) -> str:
    """A user file's text: bounded in size (``limit`` bytes), UTF-8, one-line errors naming the file."""
    try:
        size = path.stat().st_size
        if limit is not None and size > limit:
            raise error(
                f"{path}: the {what} is {size} bytes, more than the {limit} allowed; is it the right file?"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc}); pass a readable file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"{path}:{line}: the {what} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None


def parse(text: str, file: Path, what: str, error: type[BadInputError] = BadInputError) -> tuple[Any, Any]:
    """The document and its composed node tree (for line numbers); strict, see the module doc."""
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except _Refused as exc:
        raise error(f"{file}:{exc.line}: invalid {what}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{file}:{line}: invalid YAML in the {what} ({problem}); fix the syntax") from None
    except RecursionError:
        raise error(f"{file}: the {what} is nested too deeply; flatten the structure") from None
    finally:
        if loader is not None:
            loader.dispose()


def load(path: Path, what: str, error: type[BadInputError] = BadInputError) -> tuple[Any, Any]:
    """Read and parse a user's YAML file (see :func:`read_text` and :func:`parse`)."""
    return parse(read_text(path, what, error), path, what, error)


def parse_versioned(
    model: type[M],
    text: str,
    where: str,
    error: type[FtlineageError] = BadInputError,
    *,
    what: str = "",
    fix: str = "the file is damaged",
    upgrade: Callable[[Any], Any] | None = None,
) -> M:
    """A file we wrote, read back as ``model``: refuse one from a newer ftlineage, upgrade older ones.

    A file whose ``schema_version`` is above what ``model`` knows was written by a newer release
    and is refused with a message to upgrade (never read as if it were ours); older versions, and
    files from before the field existed (version 1), are read with the fields added since taking
    their defaults; ``upgrade`` rewrites an older layout first.
    """
    from pydantic import ValidationError

    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise error(
            f"{where}: not a valid {what or model.__name__} file (not JSON: {str(exc)[:80]}); {fix}"
        ) from None
    if upgrade is not None:  # an older layout (not only added fields) rewritten to the current one
        raw = upgrade(raw)
    current = model.model_fields["schema_version"].default
    found = raw.get("schema_version", 1) if isinstance(raw, dict) else None
    if isinstance(found, int) and found > current:
        raise error(
            f"{where}: written by a newer ftlineage (schema_version {found}; this release reads up to "
            f"{current}); upgrade ftlineage to read it"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "<top>"
        raise error(
            f"{where}: not a valid {what or model.__name__} file ({key}: {first['msg']}); {fix}"
        ) from None


def line_index(node: yaml.Node, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each key path in a composed YAML document to its 1-based line."""
    lines = {prefix: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, key.value)
            lines.update(line_index(value, path))
            lines[path] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(line_index(item, (*prefix, i)))
    return lines


ROLES = ("system", "user", "assistant", "tool")


def flatten_turns(turns: Any) -> str:
    """Turns as ``Role: content`` lines: how a conversation reads as one text (no chat template).

    ``turns`` holds ``{"role", "content"}`` mappings or objects with those attributes.
    """
    pairs = ((t["role"], t["content"]) if isinstance(t, dict) else (t.role, t.content) for t in turns)
    return "\n".join(f"{role.capitalize()}: {content}" for role, content in pairs)


def chat_turns(raw: Any, where: str, error: type[BadInputError]) -> list[dict[str, str]]:
    """A ``messages`` value (suite case or corpus row) as ``{"role", "content"}`` turns.

    ``where`` (``file:line``) starts every message; ``error`` is the kind to raise.
    """
    if not isinstance(raw, list) or not raw:
        raise error(f"{where}: 'messages' must be a non-empty list of {{role, content}} objects")
    turns = []
    for i, turn in enumerate(raw):
        if not isinstance(turn, dict) or not isinstance(turn.get("content"), str):
            raise error(f"{where}: messages[{i}] must be an object with a string 'content'")
        if turn.get("role") not in ROLES:
            raise error(
                f"{where}: messages[{i}] has role {turn.get('role')!r}; valid roles are {', '.join(ROLES)}"
            )
        turns.append({"role": str(turn["role"]), "content": str(turn["content"])})
    return turns
