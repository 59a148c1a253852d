"""Corpus readers and deterministic generators for the bundled data."""

from typing import TYPE_CHECKING, Any

from ftlineage.data._corpus import read_corpus
from ftlineage.data._general import REFUSAL
from ftlineage.data._names import FIRST, LAST, MONTHS, REASONS
from ftlineage.data._stream import Chunk, fetch_rows, plan_chunks, read_chunk, table_rows

if TYPE_CHECKING:
    from ftlineage.data._replay import replay_rows

__all__ = [
    "Chunk",
    "fetch_rows",
    "FIRST",
    "LAST",
    "MONTHS",
    "plan_chunks",
    "read_chunk",
    "read_corpus",
    "REASONS",
    "REFUSAL",
    "replay_rows",
    "table_rows",
]


def __getattr__(name: str) -> Any:
    # replay_rows needs ftlineage.audit, which reads corpora through this package: import it late.
    if name == "replay_rows":
        from ftlineage.data._replay import replay_rows

        return replay_rows
    raise AttributeError(f"module 'ftlineage.data' has no attribute {name!r}")
