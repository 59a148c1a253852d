"""Planted credentials: every secret family the audit must catch, in every context a corpus holds one.

The secret-sink tests plant these into every corpus field, run the audit and the failure feed, and
grep every file they write for any :data:`PIECE`-character piece of each secret. Values are seeded
random strings in each provider's format: none is a real credential.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

PIECE = 12

_LOWER, _UPPER, _DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
_AZ09 = _LOWER + _UPPER + _DIGITS
_B64 = _AZ09 + "+/"
_URLSAFE = _AZ09 + "_-"
_HEX = "0123456789abcdef"


@dataclass(frozen=True)
class PlantedSecret:
    """One secret in one context: the text planted, and the value no output may show."""

    family: str
    context: str
    text: str
    secret: str

    def pieces(self, size: int = PIECE) -> set[str]:
        """Every ``size``-character piece of the secret, line by line (JSON escapes a newline)."""
        out: set[str] = set()
        for line in self.secret.splitlines():
            out.update(line[i : i + size] for i in range(max(len(line) - size + 1, 1)))
        return out


def _rand(rng: random.Random, alphabet: str, k: int) -> str:
    """``k`` characters of ``alphabet`` holding a lower-case letter, an upper-case one and a digit.

    (When ``alphabet`` has them: real keys mix them, and a key without is a rare draw.)
    """
    while True:
        value = "".join(rng.choices(alphabet, k=k))
        kinds = [set(value) & set(kind) for kind in (_LOWER, _UPPER, _DIGITS) if set(kind) & set(alphabet)]
        if all(kinds):
            return value


def _same(value: str) -> tuple[str, str]:
    return value, value


def _b64url(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _jwt(rng: random.Random) -> tuple[str, str]:
    head = _b64url({"alg": "HS256", "typ": "JWT"})
    body = _b64url({"sub": _rand(rng, _AZ09, 12), "iat": rng.randint(1_600_000_000, 1_800_000_000)})
    return _same(f"{head}.{body}.{_rand(rng, _URLSAFE, 43)}")


def _pem(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(("RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""))
    lines = [_rand(rng, _B64, 64) for _ in range(rng.randint(3, 6))] + [_rand(rng, _B64, 22) + "=="]
    body = "\n".join(lines)
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----", body


def _url(template: str) -> Callable[[random.Random], tuple[str, str]]:
    def make(rng: random.Random) -> tuple[str, str]:
        pw = _rand(rng, _AZ09, rng.randint(14, 24))
        return template.format(pw=pw), pw

    return make


def _assigned(name: str, alphabet: str, k: int) -> Callable[[random.Random], tuple[str, str]]:
    def make(rng: random.Random) -> tuple[str, str]:
        value = _rand(rng, alphabet, k)
        return f"{name}={value}", value

    return make


def _slack_webhook(rng: random.Random) -> tuple[str, str]:
    path = f"T{_rand(rng, _UPPER + _DIGITS, 10)}/B{_rand(rng, _UPPER + _DIGITS, 10)}/{_rand(rng, _AZ09, 24)}"
    return f"https://hooks.slack.com/services/{path}", path


def _azure_storage(rng: random.Random) -> tuple[str, str]:
    key = _rand(rng, _B64, 86) + "=="
    conn = f"DefaultEndpointsProtocol=https;AccountName=prodrecords;AccountKey={key}"
    return f"{conn};EndpointSuffix=core.windows.net", key


def _digits(rng: random.Random, k: int) -> str:
    return "".join(rng.choices(_DIGITS, k=k))


# Each family makes ``(snippet, secret)``: the credential as it is written, and the part of it
# that is the secret (a URL's password, a PEM block's body, a connection string's key).
FAMILIES: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "aws_access_key_id": lambda r: _same(r.choice(("AKIA", "ASIA")) + _rand(r, _UPPER + _DIGITS, 16)),
    "aws_secret_access_key": lambda r: _same(_rand(r, _B64, 40)),
    "github_classic": lambda r: _same("ghp_" + _rand(r, _AZ09, 36)),
    "github_fine_grained": lambda r: _same(f"github_pat_11{_rand(r, _AZ09, 20)}_{_rand(r, _AZ09, 59)}"),
    "slack_bot": lambda r: _same(f"xoxb-{_digits(r, 12)}-{_digits(r, 13)}-{_rand(r, _AZ09, 24)}"),
    "slack_user": lambda r: _same(
        f"xoxp-{_digits(r, 12)}-{_digits(r, 12)}-{_digits(r, 13)}-{_rand(r, _HEX, 32)}"
    ),
    "slack_app": lambda r: _same(
        f"xapp-1-A{_rand(r, _UPPER + _DIGITS, 10)}-{_digits(r, 13)}-{_rand(r, _HEX, 64)}"
    ),
    "slack_webhook": _slack_webhook,
    "stripe_live": lambda r: _same(
        r.choice(("sk", "rk")) + "_live_" + _rand(r, _AZ09, r.choice((24, 34, 99)))
    ),
    "google_api": lambda r: _same("AIza" + _rand(r, _URLSAFE, 35)),
    "openai": lambda r: _same("sk-" + _rand(r, _AZ09, 48)),
    "openai_project": lambda r: _same("sk-proj-" + _rand(r, _URLSAFE, 120)),
    "huggingface": lambda r: _same("hf_" + _rand(r, _LOWER + _UPPER, 34)),
    "jwt": _jwt,
    "pem_private_key": _pem,
    "url_postgres": _url("postgres://svc_app:{pw}@db.prod.internal:5432/app"),
    "url_mongodb_srv": _url("mongodb+srv://reporting:{pw}@cluster0.ab1cd.mongodb.net/prod?retryWrites=true"),
    "url_amqp": _url("amqp://worker:{pw}@mq.internal:5672/jobs"),
    "url_https": _url("https://deploy:{pw}@registry.example.com/v2/"),
    "url_redis": _url("redis://:{pw}@cache.internal:6379/0"),
    "password_assignment": _assigned("password", _AZ09 + "!#%", 18),
    "api_key_assignment": _assigned("api_key", _AZ09, 32),
    "azure_storage_key": _azure_storage,
    "azure_client_secret": lambda r: _same(
        f"{_rand(r, _AZ09, 3)}{r.randint(0, 9)}Q~{_rand(r, _AZ09 + '_.-', 34)}"
    ),
    "npm": lambda r: _same("npm_" + _rand(r, _AZ09, 36)),
    "twilio_api_key": lambda r: _same("SK" + _rand(r, _HEX, 32)),
    "sendgrid": lambda r: _same(f"SG.{_rand(r, _URLSAFE, 22)}.{_rand(r, _URLSAFE, 43)}"),
}

# Where a credential sits in a row's text.
CONTEXTS: dict[str, Callable[[str], str]] = {
    "bare": lambda s: s,
    "sentence": lambda s: f"Please use {s} when the nightly job calls the billing service.",
    "json": lambda s: json.dumps({"service": "billing", "value": s}),
    "code_block": lambda s: f"Here is the config:\n```\n{s}\n```\nIt fails on start.",
    "url": lambda s: f"Open https://portal.example.com/v1/callback?value={s}&lang=en to finish.",
    "shell": lambda s: f'curl -s -X POST https://api.example.com/v1/jobs -d "value={s}" && echo done',
    "quoted": lambda s: f"The vendor wrote '{s}' in the ticket.",
    "after_newline": lambda s: f"Copied from the runbook:\n{s}\nDo not share.",
    "markdown_table": lambda s: f"| system | value |\n|---|---|\n| billing | {s} |",
    "env_file": lambda s: f"# billing service\nBILLING_VALUE={s}\nDEBUG=false",
    "yaml": lambda s: f"billing:\n  value: {s}\n  retries: 3",
    "html": lambda s: f'<input type="hidden" name="value" value="{s}">',
}

# Ordinary text that only looks risky: no detector may flag it, no mask may change it.
NOT_SECRETS = (
    "Claims for this plan go to UnitedHealthcare. Ask the front desk for the form.",
    "Mount the volume at /etc/secrets/db-password as described in the deployment guide.",
    "Reset it at https://docs.example.com/account/password-reset#steps, then sign in again.",
    "Fixed in commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (v2.14.3).",
    "Request id 3f2b8c1e-9d4a-4e7b-8a61-2c5d9e0f7a13 was retried twice.",
    "The token limit is 4096 and the password must be at least 12 characters long.",
    "Use the HealthcareDataPipelineV2 notebook from the SharedAnalyticsWorkspace folder.",
    "The AWS docs use AKIAIOSFODNN7EXAMPLE as a sample key.",
    "Connect with postgres://user:password@localhost/db in the tutorial.",
    "Set api_key = os.environ['API_KEY'] and never hard-code it.",
)


def plant_secrets(seed: int = 0) -> list[PlantedSecret]:
    """Every family in every context, a fresh secret each (seeded)."""
    rng = random.Random(seed)
    out = []
    for family, make in FAMILIES.items():
        for context, wrap in CONTEXTS.items():
            snippet, secret = make(rng)
            out.append(PlantedSecret(family, context, wrap(snippet), secret))
    return out
