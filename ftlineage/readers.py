r"""Reading files a user hands us: bounded, UTF-8, and strict YAML (recipes, suite metadata, gate rules).

Plain ``yaml.safe_load`` accepts three things a config file never needs and an attacker can use:
aliases (a 1 KB "billion laughs" document expands to gigabytes), unbounded nesting (a
``RecursionError``) and duplicate keys (the second silently wins). This reader refuses all
three, bounds the file's size, and turns undecodable bytes into an error naming the file.
Values that parse but cannot be used are refused where they are read, with their line: a lone
UTF-16 surrogate (``"\ud800"``, which no UTF-8 file can hold), an integer beyond 64 bits (a
100,000-digit one cannot even be printed), a date or tagged scalar that does not convert.
Every refusal is a :class:`~ftlineage.errors.BadInputError` of the caller's kind, one line,
naming the file and line. :func:`parse_json` does the same for JSON text.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from ftlineage.errors import BadInputError, FtlineageError

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 2_000_000
MAX_DEPTH = 50
MAX_INT = 2**63 - 1  # what a YAML integer may be: a 64-bit signed value

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def shown(value: Any, limit: int = 60) -> str:
    r"""``repr(value)`` cut to ``limit`` characters, for an error message.

    Safe on what ``repr`` itself fails on or floods with: integers beyond Python's digit limit
    (shown by size) and huge strings; lone surrogates come out escaped (``'\ud800'``).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = repr(value)
    except ValueError:  # a container holding an integer over the digit limit
        return f"a {type(value).__name__} holding a huge integer"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def lone_surrogate(value: Any) -> str | None:
    r"""The first lone UTF-16 surrogate in a string or JSON-like value, escaped (``\udXXX``), or ``None``.

    ``json.loads`` and YAML turn the escape ``"\ud800"`` into such a character; it cannot be
    encoded as UTF-8, so a file, a hash or a request that holds it fails far from where it came in.
    Keys and strings at any depth are searched.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return f"\\u{ord(found.group()):04x}"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def _may_hold_surrogate(data: str | bytes) -> bool:
    if isinstance(data, str):
        return bool(_SURROGATE_ESCAPE.search(data) or _SURROGATE.search(data))
    return b"\x00" in data or bool(_SURROGATE_ESCAPE_BYTES.search(data))  # UTF-16/32 JSON: walk it


def parse_json(data: str | bytes) -> Any:
    r"""``json.loads`` for user data; every refusal is a ``ValueError`` whose message is one short reason.

    Besides invalid JSON it refuses what ``json.loads`` fails on in other ways (nesting too deep,
    an integer beyond Python's digit limit, undecodable bytes) and lone UTF-16 surrogates
    (``"\ud800"``), which could never be written back as UTF-8. Callers add the file and line.
    """
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at column {exc.colno}") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except RecursionError:
        raise ValueError("nested too deeply to read") from None
    except ValueError:  # int(): "Exceeds the limit (4300 digits) for integer string conversion"
        limit = sys.get_int_max_str_digits()
        raise ValueError(f"a number of more than {limit} digits; write it as a string") from None
    bad = lone_surrogate(value) if _may_hold_surrogate(data) else None
    if bad:
        raise ValueError(
            f"a lone surrogate {bad} (half of a UTF-16 pair) in a string; write the character itself"
        )
    return value


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

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        line = node.start_mark.line + 1
        try:
            value = super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # a date, !!int or !!float that does not convert
            text = _scalar_text(node)
            why = (
                f"{text} is out of range (at most {MAX_INT}); use a smaller value"
                if text.startswith("an integer of")
                else f"cannot read {text} ({_first_clause(exc)}); fix the value"
            )
            raise _Refused(line, why) from None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise _Refused(line, f"{shown(value)} is out of range (at most {MAX_INT}); use a smaller value")
        if isinstance(value, str) and _SURROGATE.search(value):
            bad = lone_surrogate(value)
            raise _Refused(line, f"a lone surrogate {bad} (half of a UTF-16 pair); write the character")
        return value

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


def _scalar_text(node: Any) -> str:
    if not isinstance(node.value, str):
        return f"the {node.tag.rsplit(':', 1)[-1]} here"
    digits = sum(c.isdigit() for c in node.value)
    if digits > 100:
        return f"an integer of {digits} digits"
    return shown(node.value)


def _first_clause(exc: Exception) -> str:
    return " ".join(str(exc).split(";")[0].split())[:120]


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
        raw = parse_json(text)
    except ValueError as exc:
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
