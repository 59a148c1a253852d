"""A content-addressed verdict cache (SQLite), safe to share between threads and processes.

The key is the SHA-256 of everything that decides a verdict: rubric version, judge name, family
and parameters, the judge harness code version, the input, and both answers in the order shown.
Unscored verdicts are never cached, so a rerun asks again. Every entry is sealed (see
:class:`VerdictCache`): a tampered entry is a miss, never a vote.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ftlineage.arena._judge import Judge, Judgement
from ftlineage.lineage import sha256_json

CODE_VERSION = "arena-harness-v2"
logger = logging.getLogger(__name__)


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


VALID_PICKS = ("first", "second", "tie")


def open_cache_db(path: Path, ddl: str) -> sqlite3.Connection:
    """A SQLite cache file shared by threads and processes (WAL), with its table created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, timeout=30)
    with db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(ddl)
    return db


def seal_message(secret: bytes | None, message: bytes) -> str:
    """An HMAC of ``message`` under ``secret`` (the gate key), or without one a SHA-256 checksum."""
    if secret:
        return "hmac:" + hmac.new(secret, message, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(message).hexdigest()


def _seal(key: str, pick: str, reason: str, secret: bytes | None) -> str:
    """An HMAC of the entry under the gate key, or (no key) a SHA-256 checksum of it."""
    return seal_message(secret, "\0".join(("ftlineage-verdict:v1", key, pick, reason)).encode())


class VerdictCache:
    """Verdicts by key in one SQLite file, each entry sealed and checked on every read.

    An entry is returned only when its pick is a decided one (first, second, tie) and its seal
    matches: an HMAC under ``secret`` (the gate key) when one is given, else a SHA-256 checksum.
    Anything else (an edited pick, ``'garbage'``, NULL, a missing or wrong seal, an unsigned
    entry read with a key) is a miss, never a vote: the pair is judged again and the entry
    rewritten. Without a key, the checksum catches edits that do not recompute it; only the
    key makes the cache tamper-evident against someone who can write the file.
    """

    def __init__(self, path: Path, secret: bytes | None = None) -> None:
        self.path = path
        self.rejected = 0
        self._secret = secret
        self._lock = threading.Lock()
        ddl = "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, pick TEXT, reason TEXT)"
        self._db = open_cache_db(path, ddl)
        with self._lock, self._db:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(verdicts)")}
            if "seal" not in columns:  # a cache written before entries were sealed
                self._db.execute("ALTER TABLE verdicts ADD COLUMN seal TEXT")

    def get(self, key: str) -> Judgement | None:
        """The cached verdict if it is intact, else ``None`` (counted in ``rejected``)."""
        with self._lock:
            row = self._db.execute("SELECT pick, reason, seal FROM verdicts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        pick, reason, seal = row
        intact = (
            pick in VALID_PICKS
            and isinstance(reason, str)
            and isinstance(seal, str)
            and hmac.compare_digest(seal, _seal(key, pick, reason, self._secret))
        )
        if not intact:
            with self._lock:
                self.rejected += 1
            logger.warning("verdict cache %s: entry %s failed its check; judging again", self.path, key[:12])
            return None
        return Judgement(pick, reason)

    def put(self, key: str, verdict: Judgement) -> None:
        """Store a decided verdict (unscored or invalid picks are not kept)."""
        if verdict.pick not in VALID_PICKS:
            return
        seal = _seal(key, verdict.pick, verdict.reason, self._secret)
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO verdicts (key, pick, reason, seal) VALUES (?, ?, ?, ?)",
                (key, verdict.pick, verdict.reason, seal),
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()
