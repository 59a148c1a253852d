"""The scanner rule table: one entry per detector, each a trigger, an exact pattern and a veto.

A rule fires on a row when its exact ``pattern`` matches and its ``veto`` (if any) does not reject
the match. ``trigger`` is a cheap necessary condition (a superset of the pattern's matches) that a
multi-pattern engine checks for every row first; only triggered rules run their Python pattern.
Hard negatives (UUIDs, commit hashes, version strings, documentation URLs, "ignore the previous
email") are kept out by the patterns' shapes and by the vetoes, and the planted-corpus test holds
them to it.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ftlineage.audit._families import INJECTION_FAMILIES, URL_FAMILIES

Veto = Callable[[re.Match[str]], bool]


@dataclass(frozen=True)
class Rule:
    """One detector. ``sensitive`` rules never show their match in clear (secrets and PII)."""

    flag: str
    name: str
    trigger: str
    pattern: re.Pattern[str]
    sensitive: bool = False
    veto: Veto | None = None
    caseless_trigger: bool = False


_PLACEHOLDER_PASSWORDS = {
    "password",
    "passwd",
    "pass",
    "secret",
    "changeme",
    "pwd",
    "xxx",
    "xxxx",
    "user",
    "username",
    "redacted",
    "example",
}


def _example_key(m: re.Match[str]) -> bool:
    return m.group(0).endswith("EXAMPLE")


def _placeholder_password(m: re.Match[str]) -> bool:
    pw = m.group("pw")
    return pw.casefold() in _PLACEHOLDER_PASSWORDS or bool(re.fullmatch(r"[*x.<>{}$%_-]+|[<{$%].*", pw))


def _ssh_address(m: re.Match[str]) -> bool:
    return m.group("local").casefold() == "git"  # git@github.com:org/repo is a remote, not a person


def _benign_ip(m: re.Match[str]) -> bool:
    try:
        ip = ipaddress.ip_address(m.group("ip"))
    except ValueError:
        return True  # 999.1.1.1 is not an address at all
    return ip.is_private or ip.is_loopback or ip.is_unspecified or ip.is_link_local


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def looks_random(value: str, *, min_entropy: float = 3.5) -> bool:
    """A token that mixes letters with digits or case, at high symbol entropy: a key, not a word or path."""
    mixed = any(c.isdigit() for c in value) or (value != value.lower() and value != value.upper())
    return (
        mixed and any(c.isalpha() for c in value) and value.count("/") <= 3 and _entropy(value) >= min_entropy
    )


def _not_a_bare_key(m: re.Match[str]) -> bool:
    value = m.group(0)
    cased = sum(c.isupper() for c in value) >= 3 and sum(c.islower() for c in value) >= 3
    digit_or_symbol = any(c.isdigit() or c in "/+" for c in value)
    return not (cased and digit_or_symbol and looks_random(value, min_entropy=4.0))


def _not_an_assigned_secret(m: re.Match[str]) -> bool:
    pw = m.group("pw")
    strong = any(c.isdigit() for c in pw) or (len(pw) >= 20 and looks_random(pw, min_entropy=3.5))
    return pw.casefold() in _PLACEHOLDER_PASSWORDS or not (strong and looks_random(pw, min_entropy=3.0))


def _phone_is_other_number(m: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", m.group(0))
    # All digits equal or strictly counting up: placeholders such as 000-000-0000 or 123-456-7890.
    return len(set(digits)) == 1 or digits in "0123456789012345"


def _not_mixed_case(m: re.Match[str]) -> bool:
    value = m.group(0)
    return value.lower() == value or value.upper() == value  # hf_tokenizer_path_name is a name


def _not_mixed_hex(m: re.Match[str]) -> bool:
    tail = m.group(0)[-32:]
    return tail.isdigit() or tail.isalpha()  # a random hex key mixes digits and letters


_PRIVATE_KEY = (
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY"
    r"(?: BLOCK)?-----|(?:(?:\s|\\[rn])+(?:[A-Za-z0-9+/=]{16,}|[A-Za-z-]+: [^\r\n\\]*))*)"
)

_SECRET = [
    ("aws_access_key", r"AKIA|ASIA|ABIA|ACCA", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", _example_key),
    (
        "aws_secret_key",
        r"aws_secret",
        r"(?i:aws_secret(?:_access)?_key)\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b",
        None,
    ),
    ("gcp_api_key", r"AIza", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", None),
    ("azure_storage_key", r"AccountKey=", r"AccountKey=[A-Za-z0-9+/]{20,}={0,2}", None),
    (
        "github_token",
        r"gh[pousr]_|github_pat_",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{60,})\b",
        None,
    ),
    ("gitlab_token", r"glpat-", r"\bglpat-[A-Za-z0-9_-]{20,}", None),
    ("slack_token", r"xox[abposre]-|xapp-", r"\b(?:xox[abposre]-|xapp-\d-)[A-Za-z0-9-]{10,}", None),
    ("slack_webhook", r"hooks\.slack\.com/services", r"hooks\.slack\.com/services/T\w+/B\w+/\w{16,}", None),
    (
        "discord_webhook",
        r"discord(?:app)?\.com/api/webhooks",
        r"discord(?:app)?\.com/api/webhooks/\d{17,20}/[\w-]{60,68}",
        None,
    ),
    ("telegram_bot_token", r":AA", r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b", None),
    ("stripe_key", r"_live_", r"\b(?:sk|rk)_live_[A-Za-z0-9]{16,}\b", None),
    ("huggingface_token", r"hf_[A-Za-z0-9]{30}", r"\bhf_[A-Za-z0-9]{30,}\b", _not_mixed_case),
    ("npm_token", r"npm_", r"\bnpm_[A-Za-z0-9]{36}\b", None),
    ("pypi_token", r"pypi-AgE", r"\bpypi-AgE[A-Za-z0-9_-]{50,}", None),
    ("twilio_key", r"SK[0-9a-f]{32}", r"\bSK[0-9a-f]{32}\b", _not_mixed_hex),
    ("sendgrid_key", r"SG\.", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", None),
    ("shopify_token", r"shp(?:at|ca|pa|ss)_", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", None),
    ("digitalocean_token", r"do[opr]_v1_", r"\bdo[opr]_v1_[a-f0-9]{64}\b", None),
    (
        "azure_client_secret",
        r"\dQ~",
        r"(?<![\w~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~-])",
        None,
    ),
    ("square_token", r"sq0(?:atp|csp)-", r"\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}\b", None),
    (
        "paypal_braintree_token",
        r"access_token\$production",
        r"access_token\$production\$[a-z0-9]{16}\$[a-f0-9]{32}",
        None,
    ),
    ("openai_key", r"sk-", r"\bsk-(?:proj-|svcacct-|ant-api\d\d-)?[A-Za-z0-9_-]{32,}", None),
    # The whole block, body included: through its END line, or (cut short) through its last base64 line.
    ("private_key", r"PRIVATE KEY-----", _PRIVATE_KEY, None),
    ("jwt", r"eyJ", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", None),
    # A 40-character base64 key standing alone (AWS secret keys).
    (
        "bare_secret_key",
        r"[A-Za-z0-9/+]{40}",
        r"(?<![A-Za-z0-9/+_.-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_-])",
        _not_a_bare_key,
    ),
]

# Context, not provider format (triggers are caseless): a credential-named assignment in any
# syntax (``NAME=value``, ``name: "value"``, JSON, ``export``, "the password is …"), an
# Authorization header of any token shape, a URL carrying a password.
_CREDENTIAL_NAME = (
    r"[\w.-]*(?:secret|token|passw(?:or)?d|passphrase|(?<![a-z])pass(?![a-z])|pwd|api[_-]?key|access[_-]?key"
    r"|(?:private|signing|master|encryption|client|service|app)[_-]?key|credential|auth[_-]?key)[\w.-]*"
)
_SECRET_CONTEXT = [
    (
        "assigned_secret",
        r"secret|token|pass|pwd|key|credential",
        r"(?i)(?<![\w.-])" + _CREDENTIAL_NAME + r"['\"]?\s*(?:=|:|=>|\s(?:is|was)\s)\s*['\"]?"
        r"(?P<pw>[A-Za-z0-9/+_.~=!#$%^&*@?-]{10,})",
        _not_an_assigned_secret,
    ),
    (
        "authorization_header",
        r"authorization",
        r"(?i)\b(?:authorization|proxy-authorization)['\"]?\s*[:=]\s*['\"]?(?:Bearer|Basic|Token)\s+"
        r"(?P<pw>[A-Za-z0-9._~+/=-]{12,})",
        _placeholder_password,
    ),
    (
        "connection_string_password",
        r"://[^\s/@:]*:[^\s/@]+@",
        r"\b[a-z][a-z0-9+.-]*://[^\s:/@]*:(?P<pw>[^\s@/]{3,})@[\w.-]+",
        _placeholder_password,
    ),
]
_PII = [
    (
        "pii_email",
        r"@",
        r"(?<![\w.%+:/-])(?P<local>[A-Za-z0-9._%+-]+)@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
        r"\.[A-Za-z]{2,})\b",
        _ssh_address,
    ),
    (
        "pii_phone",
        r"\d{3}[ .)-]{1,2}\d{3}[ .-]\d{4}|\+\d",
        r"(?<![\w.+-])(?:\+1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
        r"|(?<![\w.+-])\+(?:[2-9]\d{0,2})[ .-]?\d{1,4}(?:[ .-]\d{2,4}){2,4}(?![\w-])",
        _phone_is_other_number,
    ),
]
_INJECTION_OBJECTS = (
    r"(?:instructions?|prompts?|rules|directives?|guidelines|guardrails|system\s+prompt"
    r"|context|programming)"
)
_PROMPT_INJECTION = [
    (
        "ignore_instructions",
        r"ignore|disregard|forget|override",
        r"(?i)\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+)?"
        r"(?:previous|prior|above|earlier|preceding|original|system|safety)\s+" + _INJECTION_OBJECTS,
    ),
    (
        "role_hijack",
        r"you are now|developer mode|do anything now|DAN",
        r"(?i)\byou\s+are\s+now\s+(?:DAN|in\s+developer\s+mode|an?\s+(?:unrestricted|unfiltered|jailbroken))"
        r"|\b(?:developer|god)\s+mode\s+(?:enabled|activated|on)\b|\bdo\s+anything\s+now\b",
    ),
    (
        "reveal_system_prompt",
        r"system prompt|hidden instructions|initial instructions",
        r"(?i)\b(?:reveal|print|show|repeat|output|leak)\s+(?:me\s+)?(?:your|the)\s+(?:full\s+)?"
        r"(?:system\s+prompt|hidden\s+instructions|initial\s+instructions)",
    ),
    (
        "no_restrictions",
        r"restrictions|filters|no rules",
        r"(?i)\b(?:pretend|act\s+as\s+if|imagine)\b[^.\n]{0,60}\b(?:without|no|free\s+of)\s+"
        r"(?:any\s+)?(?:restrictions|filters|rules|limitations|guidelines)",
    ),
    (
        "chat_template_injection",
        r"<\|im_start\|>|<\|system\|>|\[INST\]|<<SYS>>",
        r"<\|im_start\|>\s*system|<\|system\|>|\[INST\]\s*<<SYS>>|<<SYS>>",
    ),
]
_MALICIOUS_URL = [
    (
        "ip_literal_url",
        r"://(?:[^\s/@]*@)?\d",
        r"(?i)\b(?:https?|ftp)://(?:[^\s/@]*@)?(?P<ip>\d{1,3}(?:\.\d{1,3}){3})\b",
        _benign_ip,
    ),
    ("punycode_host", r"xn--", r"(?i)\bhttps?://(?:[\w-]+\.)*xn--[a-z0-9-]+(?:\.[\w-]+)*", None),
    (
        "javascript_scheme",
        r"javascript:",
        r"(?i)(?:href|src|action|url)\s*[=(]\s*['\"]?\s*javascript:"
        r"|\bjavascript:\s*(?:alert|eval|fetch|document|window|location)\b",
        None,
    ),
    (
        "data_uri_active",
        r"data:",
        r"(?i)\bdata:(?:text/html|text/javascript|application/[\w.+-]+"
        r"|image/svg\+xml)[;,]",
        None,
    ),
    (
        "executable_download",
        r"\.(?:exe|scr|bat|cmd|msi|ps1|vbs|jar|apk|dll|hta|lnk)",
        r"(?i)\b(?:https?|ftp)://[^\s\"'<>]+\.(?:exe|scr|bat|cmd|msi|ps1|vbs|jar|apk|dll|hta|lnk)(?=$|[\s\"'<>?#)])",
        None,
    ),
    ("credential_trick_url", r"://", r"(?i)\bhttps?://[\w.-]+\.(?:com|org|net)@[\w.-]+", None),
]
_CODE_INJECTION = [
    (
        "sql_tautology",
        r"'\s*(?:or|and)",
        r"(?i)'\s*(?:or|and)\s+'?(\w+)'?\s*=\s*'?\1'?(?:\s*--|\s*#|\s*;|'|\s|$)",
    ),
    (
        "sql_stacked_query",
        r";\s*(?:drop|delete|truncate|shutdown|exec)",
        r"(?i)['\"\d)]\s*;\s*(?:drop\s+(?:table|database)|delete\s+from|truncate\s+table|shutdown|exec\s+xp_)",
    ),
    ("sql_union_select", r"union", r"(?i)['\")]\s*union\s+(?:all\s+)?select\b"),
    ("shell_rm_root", r"rm\s", r"(?:^|[;&|`]|\$\()\s*rm\s+-(?:rf|fr|r)\s+(?:/|~|\*|\$HOME)(?=\s|$|;|`|\))"),
    ("shell_pipe_to_shell", r"\|\s*(?:ba|z)?sh", r"\b(?:curl|wget)\s+[^|;\n]*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"),
    (
        "reverse_shell",
        r"/dev/tcp/|nc\s+-e|ncat",
        r"/dev/tcp/\d|\bn(?:c|cat)\s+(?:-\w+\s+)*-e\s+/bin/(?:ba)?sh",
    ),
    (
        "sensitive_file_read",
        r"/etc/(?:passwd|shadow)",
        r"(?:cat|type|less|more|curl|;|&&)\s*[^\n]{0,20}/etc/(?:passwd|shadow)\b",
    ),
    (
        "python_dynamic_exec",
        r"__import__|exec\(|eval\(|os\.system|subprocess",
        r"__import__\(\s*['\"](?:os|subprocess|socket)['\"]\)|(?<![\w.])(?:exec|eval)\(\s*(?:base64|compile|"
        r"__import__|input\(|request)|\bos\.system\(\s*['\"][^'\"]*(?:rm |curl |wget |nc )"
        r"|subprocess\.\w+\([^)]*shell\s*=\s*True",
    ),
    (
        "script_tag",
        r"<script|onerror|onload",
        r"(?i)<script\b[^>]*>|<(?:img|svg|body|iframe)\b[^>]*\bon(?:error|load)\s*=",
    ),
    (
        "template_injection",
        r"__class__|__globals__|\{\{",
        r"\{\{[^}]*(?:__class__|__globals__|__subclasses__|config\.items)",
    ),
    ("log4shell", r"\$\{jndi:", r"(?i)\$\{jndi:(?:ldap|rmi|dns)s?://"),
]


def _rules(flag: str, table: list, *, sensitive: bool = False, caseless: bool = False) -> list[Rule]:
    out = []
    for entry in table:
        name, trigger, pattern = entry[:3]
        veto = entry[3] if len(entry) > 3 else None
        out.append(
            Rule(
                flag=flag if flag else name,
                name=name,
                trigger=trigger,
                pattern=re.compile(pattern),
                sensitive=sensitive,
                veto=veto,
                caseless_trigger=caseless,
            )
        )
    return out


RULES: tuple[Rule, ...] = tuple(
    _rules("secret", _SECRET, sensitive=True)
    + _rules("secret", _SECRET_CONTEXT, sensitive=True, caseless=True)
    + _rules("", _PII, sensitive=True)
    + _rules("prompt_injection", _PROMPT_INJECTION + INJECTION_FAMILIES, caseless=True)
    + _rules("malicious_url", _MALICIOUS_URL + URL_FAMILIES, caseless=True)
    + _rules("code_injection", _CODE_INJECTION, caseless=True)
)

# Invisible characters: zero-width, bidi embedding/override/isolate controls, tag characters, and
# other format characters that render as nothing. Joiners between emoji or inside non-Latin words
# are legitimate (family emoji, Persian ZWNJ) and are not flagged.
INVISIBLE = re.compile(
    "[\u200b-\u200d\u2060-\u2064\u202a-\u202e\u2066-\u2069\u180e\ufeff\U000e0000-\U000e007f]"
)
_JOINERS = {"\u200c", "\u200d"}


def invisible_chars(text: str) -> list[str]:
    """Names (``U+XXXX``) of invisible characters in ``text`` that have no legitimate role there."""
    if text.isascii():
        return []
    found = []
    for m in INVISIBLE.finditer(text):
        ch, i = m.group(0), m.start()
        if ch == "\ufeff" and i == 0:
            continue  # a byte-order mark at the start
        if ch in _JOINERS and 0 < i < len(text) - 1 and _joins(text[i - 1], text[i + 1]):
            continue
        found.append(f"U+{ord(ch):04X}")
    return found


def _joins(left: str, right: str) -> bool:
    """A joiner between two non-Latin letters or two emoji / symbols does a real job."""

    def real(c: str) -> bool:
        return ord(c) >= 0x0590 and not INVISIBLE.match(c)

    return real(left) and real(right)
