"""The one way text leaves the audit and the failure feed: masked on its way out.

:func:`~ftlineage.audit.mask_sensitive` is the one masking function: every match of the secret
and personal-data rules the scanners detect with (the same families, so what is flagged is what
is hidden) and every password in a URL becomes a hash. Two things route every output through it,
so a new writer has nothing to forget:

* :class:`MaskedModel`, the base of every report written to disk (the audit report, the failure
  feed and its cases): its text is masked when it is built and again whenever it is dumped.
* the writers below, the only ones the audit and the failure feed use (a test holds them to it):
  text, JSON, JSONL and CSV are masked value by value, before quoting or escaping could hide a
  match, and text once more as a whole. Training rows (``clean.jsonl``) are the one file written
  verbatim: masking would corrupt training data, so rows with a secret never reach it (the audit
  drops them).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer, model_validator

from ftlineage.audit._scanners import mask_sensitive


def mask_tree(value: Any) -> Any:
    """``value`` with every string in it masked: dict keys and values, list and tuple items.

    Pydantic models are left to their own validation (a :class:`MaskedModel` masks itself).
    """
    if isinstance(value, str):
        return mask_sensitive(value)
    if isinstance(value, Mapping):
        return {mask_tree(k): mask_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_tree(v) for v in value)
    return value


class MaskedModel(BaseModel):
    """A frozen model whose text is masked when it is built and whenever it is dumped.

    ``model_copy(update=...)`` skips validation; the dump masks what such a copy holds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _mask_input(cls, data: Any) -> Any:
        return mask_tree(data)

    @model_serializer(mode="wrap")
    def _mask_output(self, handler: SerializerFunctionWrapHandler) -> Any:
        return mask_tree(handler(self))


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (a report, a page) masked."""
    path.write_text(mask_sensitive(text), encoding="utf-8")
    return path


def write_json(path: Path, value: BaseModel | Mapping[str, Any]) -> Path:
    """Write a model (as its own JSON) or a mapping as indented JSON, every string masked."""
    if isinstance(value, BaseModel):
        return write_text(path, value.model_dump_json(indent=2))
    return write_text(path, json.dumps(mask_tree(dict(value)), indent=2, ensure_ascii=False))


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write a CSV with a header, every cell masked."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(mask_tree(dict(row)) for row in rows)
    return path


class LineWriter(Protocol):
    """Writes one JSON object as one line."""

    def __call__(self, entry: Mapping[str, Any]) -> None: ...


@contextmanager
def jsonl_writer(path: Path) -> Iterator[LineWriter]:
    """A JSONL file open for writing: each entry is masked, then written as one line."""
    with path.open("w", encoding="utf-8") as fh:

        def write(entry: Mapping[str, Any]) -> None:
            fh.write(json.dumps(mask_tree(dict(entry)), ensure_ascii=False) + "\n")

        yield write


@contextmanager
def training_rows_writer(path: Path) -> Iterator[LineWriter]:
    """The training rows file, written verbatim: give it only rows the audit cleared of secrets."""
    with path.open("w", encoding="utf-8") as fh:

        def write(entry: Mapping[str, Any]) -> None:
            fh.write(json.dumps(dict(entry), ensure_ascii=False) + "\n")

        yield write
