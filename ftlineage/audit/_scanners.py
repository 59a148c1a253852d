"""Run the scanner rules over text. Findings never carry a secret or PII value in clear.

Every row first goes through one multi-pattern pass over all rule triggers (Hyperscan when it is
installed, which scans at hundreds of thousands of rows per second; plain ``re`` otherwise, with
the same results, only slower); only the rules whose trigger fired run their exact pattern.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from ftlineage.audit._rules import RULES, Rule, invisible_chars, looks_random

_SENSITIVE = frozenset(i for i, r in enumerate(RULES) if r.sensitive)
SENSITIVE_FLAGS = frozenset(r.flag for r in RULES if r.sensitive)

SNIPPET_CHARS = 60


@dataclass(frozen=True)
class Finding:
    """One scanner hit: its flag, the rule that fired and a safe preview of the match."""

    flag: str
    rule: str
    redacted: str


def redact(value: str, *, prefix: bool = True) -> str:
    """A hash of ``value`` and, for a key of 16+ characters, its 4-character prefix; never the value.

    The prefix names a key's kind (``ghp_``, ``AKIA``); personal data (``prefix=False``) shows none.
    """
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    shown = value[:4] if prefix and len(value) >= 16 else ""
    return f"{shown}…[{len(value)} chars, sha256:{digest}]"


_TOKEN = re.compile(r"[A-Za-z0-9_/+=.~-]{16,}")
_USERINFO = re.compile(r"(://[^\s/@:]*:)([^\s/@]+)@")


def _redact_unless_vetoed(rule: Rule, m: re.Match[str]) -> str:
    return m.group(0) if rule.veto and rule.veto(m) else redact(m.group(0), prefix=rule.flag == "secret")


def mask_secrets(text: str) -> str:
    """``text`` with every secret or PII match, and every long random-looking token, redacted.

    Any preview that leaves the scanner (another rule's snippet, a duplicate's detail) goes
    through this, so a key inside a code-injection or URL snippet is never shown in clear.
    """
    text = mask_sensitive(text)
    return _TOKEN.sub(lambda m: redact(m.group(0)) if looks_random(m.group(0)) else m.group(0), text)


def mask_sensitive(text: str) -> str:
    """``text`` with every secret or PII match and every password in a URL redacted.

    The one masking function: every text the audit and the failure feed write goes through it
    (see ``ftlineage.audit._sink``). It hides what the scanners detect, with the same rules, so
    what is flagged is what is hidden; masking twice changes nothing. Unlike :func:`mask_secrets`,
    long random-looking words are kept: for text a reader must still read (a model's answer in
    the failure feed), where ``UnitedHealthcare.`` is a word.
    """
    for i in prefilter().hits(text):
        if i in _SENSITIVE:
            text = RULES[i].pattern.sub(partial(_redact_unless_vetoed, RULES[i]), text)
    return _USERINFO.sub(lambda m: m.group(1) + redact(m.group(2)) + "@", text)


def _preview(rule: Rule, match: str) -> str:
    if rule.sensitive:
        return redact(match, prefix=rule.flag == "secret")
    match = mask_secrets(match)
    return match if len(match) <= SNIPPET_CHARS else match[: SNIPPET_CHARS - 1] + "…"


class _Prefilter:
    """Which rules' triggers occur in a text."""

    def __init__(self, use_hyperscan: bool = True) -> None:
        self._db: Any = None
        self._res = [re.compile(r.trigger, re.I if r.caseless_trigger else 0) for r in RULES]
        try:
            import hyperscan
        except ImportError:
            return
        if not use_hyperscan:
            return
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        flags = [
            hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if r.caseless_trigger else 0)
            for r in RULES
        ]
        db.compile(expressions=[r.trigger.encode() for r in RULES], ids=list(range(len(RULES))), flags=flags)
        self._db, self._scratch = db, hyperscan.Scratch(db)

    @property
    def engine(self) -> str:
        return "hyperscan" if self._db is not None else "re"

    def hits(self, text: str) -> list[int]:
        if self._db is None:
            return [i for i, r in enumerate(self._res) if r.search(text)]
        found: list[int] = []

        def on_match(rule_id: int, start: int, end: int, flags: int, context: Any) -> None:
            found.append(rule_id)

        self._db.scan(
            text.encode("utf-8", "surrogatepass"), match_event_handler=on_match, scratch=self._scratch
        )
        return sorted(found)


@lru_cache(maxsize=1)
def prefilter() -> _Prefilter:
    """The process-wide trigger matcher (built once per process)."""
    return _Prefilter()


def scan_text(text: str) -> list[Finding]:
    """Every scanner over ``text``: secrets, PII, injection, malicious URLs, code, invisible chars."""
    found: list[Finding] = []
    for i in prefilter().hits(text):
        rule = RULES[i]
        for m in rule.pattern.finditer(text):
            if rule.veto is None or not rule.veto(m):
                found.append(Finding(rule.flag, rule.name, _preview(rule, m.group(0))))
                break
    chars = invisible_chars(text)
    if chars:
        found.append(Finding("invisible_char", "invisible_unicode", ", ".join(sorted(set(chars)))))
    return found
