"""A content-addressed verdict cache (SQLite), safe to share between threads and processes.

The key is the SHA-256 of everything that decides a verdict: rubric version, judge name, family
and parameters, the judge harness code version, the input, and both answers in the order shown.
Unscored verdicts are never cached, so a rerun asks again.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from ftlineage.arena._judge import Judge, Judgement
from ftlineage.lineage import sha256_json

CODE_VERSION = "arena-harness-v2"


def verdict_key(judge: Judge, prompt: str, first: str, second: str) -> str:
    """The cache key of one judgement."""
    return sha256_json(
        {
            "code": CODE_VERSION,
            "judge": judge.name,
            "judge_class": type(judge).__qualname__,
            "version": judge.version,
            "family": judge.family,
            "params": jsonable(judge.params),
            "input": prompt,
            "first": first,
            "second": second,
        },
        domain="verdict",
    )


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else repr(value)


class VerdictCache:
    """Verdicts by key in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, pick TEXT, reason TEXT)"
            )

    def get(self, key: str) -> Judgement | None:
        """The cached verdict, if any."""
        with self._lock:
            row = self._db.execute("SELECT pick, reason FROM verdicts WHERE key = ?", (key,)).fetchone()
        return Judgement(row[0], row[1]) if row else None

    def put(self, key: str, verdict: Judgement) -> None:
        """Store a decided verdict (unscored ones are not kept)."""
        if verdict.pick == "unscored":
            return
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)", (key, verdict.pick, verdict.reason)
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()
