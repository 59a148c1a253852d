"""``llm_judge``: a G-Eval-style rubric, scored 1-5 by a judge model, cached on content hashes."""

from __future__ import annotations

import hmac
import logging
import math
import re
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import PrivateAttr

from ftlineage.lineage import sha256_json
from ftlineage.tasks import BaseScorer, Case

PROMPT_VERSION = "geval-v1"
PROMPT = """You grade one answer against a rubric.

Rubric:
{rubric}

Input:
{input}
{reference}
Answer:
{output}

Think about the rubric, then reply with one final line "Score: N",
where N is an integer from 1 (worst) to 5 (best)."""
_SCORE = re.compile(r"score\s*[:=]\s*\**\s*([1-5])\b", re.I)
logger = logging.getLogger(__name__)


def parse_score(reply: str) -> float:
    """The 1-5 score in a reply, mapped to [0, 1]; NaN when it names none."""
    found = _SCORE.findall(reply)
    return (int(found[-1]) - 1) / 4 if found else math.nan


class ScoreCache:
    """Judge scores by content key in SQLite, each entry sealed.

    Sealed like arena verdicts (HMAC under the gate key, else a SHA-256 checksum); a broken
    entry is a miss. NaN (a failed call) is never stored.
    """

    def __init__(self, path: Path, secret: bytes | None) -> None:
        from ftlineage.arena import open_cache_db

        self._secret = secret
        self._lock = threading.Lock()
        ddl = "CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, value REAL, seal TEXT)"
        self._db = open_cache_db(path, ddl)

    def _seal(self, key: str, value: float) -> str:
        from ftlineage.arena import seal_message

        return seal_message(self._secret, f"ftlineage-score:v1\0{key}\0{value!r}".encode())

    def get(self, key: str) -> float | None:
        """The cached score if intact."""
        with self._lock:
            row = self._db.execute("SELECT value, seal FROM scores WHERE key = ?", (key,)).fetchone()
        if row is None or not isinstance(row[0], float) or not isinstance(row[1], str):
            return None
        if not hmac.compare_digest(row[1], self._seal(key, row[0])):
            logger.warning("score cache: entry %s failed its check; scoring again", key[:12])
            return None
        return float(row[0])

    def put(self, key: str, value: float) -> None:
        """Store a score (NaN is not stored)."""
        if math.isnan(value):
            return
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO scores (key, value, seal) VALUES (?, ?, ?)",
                (key, value, self._seal(key, value)),
            )


class LLMJudgeScorer(BaseScorer):
    """``llm_judge``: asks a judge model to grade each output against ``rubric`` (1-5 -> [0, 1]).

    Options: ``rubric`` (the criteria, required), ``backend`` (``openai``: any OpenAI-compatible
    endpoint; ``hf``: a local model), ``backend_options`` (those backends' options: ``base_url``,
    ``model``, ``family``, ``api_key_env``...), ``use_reference`` (show the reference; true),
    ``cache`` (true: scores are cached under the cache dir on a hash of the rubric, the backend's
    parameters, the input, reference and output, so a rerun makes no calls). A failed call or an
    unparsable reply is unscored (NaN), never 0.
    """

    keys: ClassVar[tuple[str, ...]] = ("llm_judge",)
    rubric: str
    backend: Literal["openai", "hf"] = "openai"
    backend_options: dict[str, Any] = {}
    use_reference: bool = True
    cache: bool = True
    _calls: int = PrivateAttr(default=0)
    _backend: Any = PrivateAttr(default=None)
    _cache: ScoreCache | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def calls(self) -> int:
        """Judge calls made (cache hits make none)."""
        return self._calls

    @property
    def reference_free(self) -> bool:  # type: ignore[override]
        return not self.use_reference

    def _get_backend(self) -> Any:
        if self._backend is None:
            from ftlineage.arena import HFChat, OpenAIChat

            self._backend = (OpenAIChat if self.backend == "openai" else HFChat)(**self.backend_options)
            if self.cache:
                from ftlineage.gate import evidence
                from ftlineage.settings import Settings

                path = Settings.from_env().cache_dir / "judge_scores.sqlite"
                self._cache = ScoreCache(path, evidence.gate_key())
        return self._backend

    def score(self, case: Case, output: str) -> dict[str, float]:
        from ftlineage.arena import JudgeCallError

        backend = self._get_backend()
        ref = case.reference_text if self.use_reference else None
        prompt = PROMPT.format(
            rubric=self.rubric,
            input=case.input_text,
            output=output,
            reference=f"\nReference answer:\n{ref}\n" if ref is not None else "",
        )
        key = sha256_json(
            {"v": PROMPT_VERSION, "backend": self.backend, "params": backend.params, "prompt": prompt},
            domain="judge-score",
        )
        cached = self._cache.get(key) if self._cache else None
        if cached is not None:
            return {"llm_judge": cached}
        try:
            with self._lock:
                self._calls += 1
            value = parse_score(backend.complete(prompt))
        except JudgeCallError:
            value = math.nan
        if self._cache:
            self._cache.put(key, value)
        return {"llm_judge": value}
