"""Signed gate evidence: the decision's digest and an HMAC-SHA256 under a server-side key.

The key comes from ``FTLINEAGE_GATE_KEY`` (never logged). The digest covers the whole decision
(canonical JSON). The HMAC binds it to what is served, a :class:`Subject`: the registered
model's name and version number, the version's ``source`` URI (where its weights are loaded
from), the run that produced it, and the SHA-256 of the trained weights (``ftlineage.model_sha``).
Evidence copied onto another version, or onto a version re-created under a renamed model with
other weights behind it, does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

from ftlineage import tags as T
from ftlineage.gate.rule import GateDecision
from ftlineage.lineage import sha256_json

KEY_ENV = "FTLINEAGE_GATE_KEY"
DIGEST_TAG = T.DECISION_SHA
HMAC_TAG = T.DECISION_HMAC
DECISION_TAG = T.DECISION
MODEL_SHA_TAG = T.MODEL_SHA


@dataclass(frozen=True)
class Subject:
    """The registry version a piece of evidence vouches for, as the registry reports it."""

    name: str
    version: str
    source: str
    run_id: str


def gate_key() -> bytes | None:
    """The signing key, or ``None`` when the environment sets none."""
    from ftlineage.settings import Settings

    return Settings.from_env().gate_key


def decision_digest(decision: GateDecision) -> str:
    """SHA-256 of the decision's canonical JSON."""
    return sha256_json(json.loads(decision.model_dump_json()), domain="decision")


def signature(digest: str, verdict: str, subject: Subject, model_sha: str, key: bytes) -> str:
    """HMAC-SHA256 over (decision digest, verdict, the subject, the weights' SHA-256).

    The verdict is signed too, so flipping the ``ftlineage.decision`` tag of a version whose
    signed decision was "blocked" to "pass" does not verify.
    """
    fields = (digest, verdict, subject.name, subject.version, subject.source, subject.run_id, model_sha)
    message = "\0".join(("ftlineage-evidence:v3", *fields)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def evidence_tags(decision: GateDecision) -> dict[str, str]:
    """Version tags set at creation: the verdict and the decision digest."""
    return {DECISION_TAG: decision.decision, DIGEST_TAG: decision_digest(decision)}


def signer(
    decision: GateDecision, model_sha: str, key: bytes | None
) -> Callable[[Subject], dict[str, str]] | None:
    """Tags to add once the version exists (the HMAC over its subject), or ``None`` without a key."""
    if not key:
        return None
    digest = decision_digest(decision)
    verdict = decision.decision
    return lambda subject: {HMAC_TAG: signature(digest, verdict, subject, model_sha, key)}


def verify(tags: dict[str, str], subject: Subject, key: bytes) -> tuple[bool, str]:
    """Whether a version's tags carry passing evidence signed for that very subject, and why."""
    version = subject.version
    if tags.get(DECISION_TAG) != "pass":
        return False, f"version {version} has no passing gate decision (tag {DECISION_TAG!r})"
    digest, mac = tags.get(DIGEST_TAG), tags.get(HMAC_TAG)
    if not digest or not mac:
        return False, f"version {version} carries no signed evidence ({DIGEST_TAG!r} and {HMAC_TAG!r})"
    expected = signature(digest, "pass", subject, tags.get(MODEL_SHA_TAG, ""), key)
    if not hmac.compare_digest(mac, expected):
        return (
            False,
            f"version {version}: the evidence signature does not verify for {subject.name!r} v{version} "
            f"with source {subject.source!r} and run {subject.run_id!r} (copied, edited, or other weights)",
        )
    return True, f"version {version}: evidence verifies"
