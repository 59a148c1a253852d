"""A content-addressed verdict cache (SQLite), safe to share between threads and processes.

The key is the SHA-256 of everything that decides a verdict: rubric version, judge name, family
and parameters, the judge harness code version, the input, and both answers in the order shown.
Unscored verdicts are never cached, so a rerun asks again. Every entry is sealed (see
:class:`VerdictCache`): a tampered entry is a miss, never a vote. A cache file that cannot be
read at all (not SQLite, truncated, malformed, a table without our columns) is moved aside with
one warning and started afresh: a broken cache costs judge calls, never the job.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ftlineage._util import file_lock
from ftlineage.arena._judge import Judge, Judgement
from ftlineage.lineage import sha256_json
from ftlineage.logging import get_logger

CODE_VERSION = "arena-harness-v2"
logger = get_logger(__name__)


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
    """A SQLite cache file shared by threads and processes (WAL), with its table created.

    ``ddl`` is one ``CREATE TABLE IF NOT EXISTS name (column TYPE, ...)``. A file that is not a
    usable cache (not SQLite, truncated or malformed, or its table lacks a column ``ddl`` names)
    is moved aside (:func:`move_aside`, one warning) and a fresh one is created in its place.
    Raises :class:`sqlite3.Error` only when the fresh file cannot be opened either, or when the
    file stays locked by another process for 30 s.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(f"{path}.lock"):  # one process checks (and moves aside) at a time
        try:
            return _connect(path, ddl)
        except sqlite3.Error as exc:
            if is_transient(exc):
                raise
            move_aside(path, exc)
        return _connect(path, ddl)


def _connect(path: Path, ddl: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, timeout=30)
    try:
        with db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(ddl)
        _check_columns(db, ddl)
    except BaseException:
        db.close()
        raise
    return db


_DDL = re.compile(r"CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\s*\((.*)\)\s*$", re.I | re.S)


def _check_columns(db: sqlite3.Connection, ddl: str) -> None:
    """Refuse a table that exists under our name without the columns ``ddl`` names (a foreign file)."""
    match = _DDL.match(ddl.strip())
    if match is None:
        return
    table, body = match.groups()
    wanted = {part.split()[0].lower() for part in body.split(",") if part.strip()}
    wanted -= {"primary", "unique", "check", "foreign", "constraint"}
    found = {str(row[1]).lower() for row in db.execute(f"PRAGMA table_info({table})")}
    missing = sorted(wanted - found)
    if missing:
        raise sqlite3.DatabaseError(f"table {table} has no column(s) {', '.join(missing)}")


def is_transient(error: BaseException) -> bool:
    """Whether a SQLite error is contention (busy, locked), not a broken file."""
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def move_aside(path: Path, reason: BaseException) -> Path:
    """Rename an unreadable cache file (and its WAL files) to ``<name>.corrupt-<time>-<pid>``; warn once.

    The file is kept, not deleted: a cache that suddenly fails to read may be evidence of tampering.
    """
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, f"{aside}{suffix}")
    logger.warning(
        "cache %s is unreadable (%s); moved it aside to %s and started an empty one "
        "(entries are computed again)",
        path,
        reason,
        aside.name,
    )
    return aside


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


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

    The cache never fails the arena: a file that cannot be read (at open or later) is moved
    aside with one warning and replaced by an empty one; one that cannot be opened at all, or
    stays locked, turns the cache off for this run (every lookup a miss, one warning).
    """

    _DDL = "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, pick TEXT, reason TEXT)"

    def __init__(self, path: Path, secret: bytes | None = None) -> None:
        self.path = path
        self.rejected = 0
        self._secret = secret
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._inode: int | None = None  # the file opened: another process may replace it
        self._warned = False
        with self._lock:
            self._open()

    def _open(self) -> None:
        try:
            db = open_cache_db(self.path, self._DDL)
            with db:
                columns = {row[1] for row in db.execute("PRAGMA table_info(verdicts)")}
                if "seal" not in columns:  # a cache written before entries were sealed
                    db.execute("ALTER TABLE verdicts ADD COLUMN seal TEXT")
        except (sqlite3.Error, OSError) as exc:
            self._off(exc)
            return
        self._db, self._inode = db, _inode(self.path)

    def _off(self, error: BaseException) -> None:
        """No cache for the rest of this run (every lookup a miss); said once."""
        self._db = None
        if not self._warned:
            self._warned = True
            logger.warning("verdict cache %s cannot be used (%s); judging without it", self.path, error)

    def _failed(self, error: sqlite3.Error) -> None:
        """A read or write failed: contention is a miss; a broken file is moved aside and replaced."""
        if is_transient(error):
            if not self._warned:
                self._warned = True
                logger.warning("verdict cache %s is busy (%s); judging again", self.path, error)
            return
        if self._db is not None:
            self._db.close()
            self._db = None
        try:
            with file_lock(f"{self.path}.lock"):
                if _inode(self.path) == self._inode:  # not already replaced by another process
                    move_aside(self.path, error)
        except OSError as exc:
            self._off(exc)
            return
        self._open()

    def _row(self, key: str) -> tuple[Any, ...] | None:
        with self._lock:
            if self._db is None:
                return None
            try:
                row = self._db.execute(
                    "SELECT pick, reason, seal FROM verdicts WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error as exc:
                self._failed(exc)
                return None
        return tuple(row) if row is not None else None

    def get(self, key: str) -> Judgement | None:
        """The cached verdict if it is intact, else ``None`` (counted in ``rejected``)."""
        row = self._row(key)
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
        with self._lock:
            if self._db is None:
                return
            try:
                with self._db:
                    self._db.execute(
                        "INSERT OR REPLACE INTO verdicts (key, pick, reason, seal) VALUES (?, ?, ?, ?)",
                        (key, verdict.pick, verdict.reason, seal),
                    )
            except sqlite3.Error as exc:
                self._failed(exc)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
