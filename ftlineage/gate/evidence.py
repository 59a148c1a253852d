"""Signed gate evidence: the decision's digest and an HMAC-SHA256 under a server-side key.

The key comes from ``FTLINEAGE_GATE_KEY`` (never logged). The digest covers the whole decision
(canonical JSON) and the HMAC binds it to one registered model version, so evidence copied from
another version does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable

from ftlineage.gate.rule import GateDecision
from ftlineage.lineage import sha256_json

KEY_ENV = "FTLINEAGE_GATE_KEY"
DIGEST_TAG = "ftlineage.decision_sha"
HMAC_TAG = "ftlineage.decision_hmac"
DECISION_TAG = "ftlineage.decision"


def gate_key() -> bytes | None:
    """The signing key, or ``None`` when the environment sets none."""
    key = os.environ.get(KEY_ENV)
    return key.encode() if key else None


def decision_digest(decision: GateDecision) -> str:
    """SHA-256 of the decision's canonical JSON."""
    return sha256_json(json.loads(decision.model_dump_json()), domain="decision")


def signature(digest: str, verdict: str, model_name: str, version: str, key: bytes) -> str:
    """HMAC-SHA256 over (decision digest, verdict, model name, version).

    The verdict is signed too, so flipping the ``ftlineage.decision`` tag of a version whose
    signed decision was "blocked" to "pass" does not verify.
    """
    message = f"ftlineage-evidence:v2\0{digest}\0{verdict}\0{model_name}\0{version}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def evidence_tags(decision: GateDecision) -> dict[str, str]:
    """Version tags set at creation: the verdict and the decision digest."""
    return {DECISION_TAG: decision.decision, DIGEST_TAG: decision_digest(decision)}


def signer(
    decision: GateDecision, model_name: str, key: bytes | None
) -> Callable[[str], dict[str, str]] | None:
    """Tags to add once the version number is known (the HMAC), or ``None`` without a key."""
    if not key:
        return None
    digest = decision_digest(decision)
    verdict = decision.decision
    return lambda version: {HMAC_TAG: signature(digest, verdict, model_name, version, key)}


def verify(tags: dict[str, str], model_name: str, version: str, key: bytes) -> tuple[bool, str]:
    """Whether a version's tags carry passing evidence signed for that very version, and why."""
    if tags.get(DECISION_TAG) != "pass":
        return False, f"version {version} has no passing gate decision (tag {DECISION_TAG!r})"
    digest, mac = tags.get(DIGEST_TAG), tags.get(HMAC_TAG)
    if not digest or not mac:
        return False, f"version {version} carries no signed evidence ({DIGEST_TAG!r} and {HMAC_TAG!r})"
    if not hmac.compare_digest(mac, signature(digest, "pass", model_name, version, key)):
        return (
            False,
            f"version {version}: the evidence signature does not verify for {model_name!r} v{version}",
        )
    return True, f"version {version}: evidence verifies"
