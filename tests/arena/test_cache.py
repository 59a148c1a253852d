"""A verdict cache that cannot be read is a miss with one warning, never a crash (issue 37)."""

from __future__ import annotations

import logging
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftlineage.arena import ArenaOptions, Judgement, VerdictCache, run_arena
from ftlineage.testing import ScriptedJudge

CASES = [{"id": str(i), "prompt": f"case {i}"} for i in range(20)]
CAND = [f"candidate answer {i}" for i in range(20)]
BASE = [f"base {i}" for i in range(20)]


def _rule(prompt: str, first: str, second: str) -> str:
    return "first" if first.startswith("candidate") else "second"


def _arena(cache: VerdictCache) -> tuple[int, int]:
    """(judge calls, cache hits) of one arena over the cases."""
    judge = ScriptedJudge(_rule)
    result = run_arena(CASES, CAND, BASE, judge, ArenaOptions(seed=7, candidate_family="llama"), cache=cache)
    return judge.calls, result.cache_hits


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """Warnings the library logger emits while the test runs."""
    seen: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                seen.append(record.getMessage())

    handler = _Keep()
    logger = logging.getLogger("ftlineage")
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(0).randbytes(8192))


def _truncated(path: Path) -> None:
    cache = VerdictCache(path)
    _arena(cache)
    cache.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _wrong_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE verdicts (id INTEGER PRIMARY KEY, payload BLOB)")
        db.execute("INSERT INTO verdicts (payload) VALUES (x'00ff')")
    db.close()


def _header_only(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 84)


@pytest.mark.parametrize("damage", [_random_bytes, _truncated, _wrong_schema, _header_only])
def test_an_unreadable_cache_file_is_a_miss_with_one_warning_and_is_rebuilt(tmp_path, warnings, damage):
    path = tmp_path / "verdicts.sqlite"
    damage(path)
    warnings.clear()
    cache = VerdictCache(path)
    assert _arena(cache) == (len(CASES), 0)  # every pair judged: a miss, not a crash
    cache.close()
    assert len(warnings) == 1, warnings
    assert "unreadable" in warnings[0]
    assert "moved it aside" in warnings[0]
    (aside,) = tmp_path.glob("verdicts.sqlite.corrupt-*")
    assert aside.stat().st_size > 0  # kept for a look, not deleted
    again = VerdictCache(path)  # the rebuilt file holds what the first arena wrote
    assert _arena(again) == (0, len(CASES))
    again.close()
    assert len(warnings) == 1


def test_a_cache_broken_while_open_is_replaced_and_later_writes_work(tmp_path, warnings):
    path = tmp_path / "verdicts.sqlite"
    cache = VerdictCache(path)
    cache.put("k1", Judgement("first", "because"))
    with sqlite3.connect(path) as other:  # someone rewrites the file under the open cache
        other.execute("DROP TABLE verdicts")
        other.execute("CREATE TABLE verdicts (id INTEGER)")
    other.close()
    assert cache.get("k1") is None
    assert len(warnings) == 1
    assert "unreadable" in warnings[0]
    cache.put("k2", Judgement("tie", "same"))
    assert cache.get("k2") == Judgement("tie", "same")
    cache.close()
    assert len(list(tmp_path.glob("verdicts.sqlite.corrupt-*"))) == 1


def test_a_cache_that_cannot_be_opened_at_all_turns_itself_off(tmp_path, warnings):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    cache = VerdictCache(tmp_path / "cache" / "verdicts.sqlite")
    assert _arena(cache) == (len(CASES), 0)
    cache.close()
    assert len(warnings) == 1
    assert "cannot be used" in warnings[0]
