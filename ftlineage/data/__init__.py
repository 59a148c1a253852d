"""Corpus readers and deterministic generators for the bundled data."""

from typing import TYPE_CHECKING

from ftlineage.data._corpus import read_corpus
from ftlineage.data._general import REFUSAL
from ftlineage.data._names import FIRST, LAST, MONTHS, REASONS
from ftlineage.data._stream import Chunk, fetch_rows, plan_chunks, read_chunk, table_rows
from ftlineage.lazy import lazy_getattr

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


# replay_rows needs ftlineage.audit, which reads corpora through this package: import it late.
__getattr__ = lazy_getattr(__name__, {"replay_rows": ("_replay", "replay_rows")})
