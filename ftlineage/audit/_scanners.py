"""Secret and PII scanners. Findings never carry the matched value in clear."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws_access_key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack_token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "stripe_key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}\b"),
    "openai_key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b"),
    "private_key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "url_credentials": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]{3,}@[\w.-]+"),
}
PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "pii_email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "pii_phone": re.compile(r"(?<![\w-])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])"),
}


@dataclass(frozen=True)
class Finding:
    """One scanner hit: its kind, rule and a redacted preview (prefix + hash)."""

    flag: str
    rule: str
    redacted: str


def redact(value: str) -> str:
    """Show a short prefix and a hash of ``value``, never the value itself."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"{value[:4]}…[{len(value)} chars, sha256:{digest}]"


def scan_text(text: str) -> list[Finding]:
    """Run every secret and PII pattern over ``text``."""
    found = []
    for rule, pattern in SECRET_PATTERNS.items():
        found += [Finding("secret", rule, redact(m.group(0))) for m in pattern.finditer(text)]
    for flag, pattern in PII_PATTERNS.items():
        found += [Finding(flag, flag, redact(m.group(0))) for m in pattern.finditer(text)]
    return found
