"""Signed gate evidence: the decision's digest and an HMAC-SHA256 under a server-side key.

The key comes from ``FTLINEAGE_GATE_KEY`` (never logged). The digest covers the whole decision
(canonical JSON). The HMAC binds it to what is served, a :class:`Subject`: the registered
model's name and version number, the version's ``source`` URI and run as the registry records
them, the candidate kind (``model`` or ``prompt``), the quantization tier, and the SHA-256 of
the served content itself (the artifact folder's files, or the prompt's template tags), which
the verifier recomputes. Evidence copied onto another version, onto a version re-created under a
renamed model, or left on a version whose files or template were rewritten, does not verify.

Two signatures exist: the **candidate identity** a run's decision vouches for (signed by the job
when it decides: which logged model or template, with which content digest), and the **version
evidence** (signed when that candidate becomes a registry version). ``promote RUN_ID`` checks the
first before it creates the second, so a run tag rewritten in between is never trusted.
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


@dataclass(frozen=True)
class Subject:
    """The registry version a piece of evidence vouches for, as the registry reports it.

    ``kind`` is ``model`` or ``prompt`` (what the registered model is), ``tier`` the quantization
    tier (empty for full precision) and ``content_sha`` the digest of the served content
    (:func:`ftlineage.lineage.sha256_content` of the artifact folder, or
    :func:`ftlineage.lineage.sha256_prompt_content` of a prompt version's tags).
    """

    name: str
    version: str
    source: str
    run_id: str
    kind: str = "model"
    tier: str = ""
    content_sha: str = ""


PROMPT_SOURCE = "prompt"  # a prompt version has no files: its subject's source is this constant


def subject_for(
    name: str, version: str, *, source: str, run_id: str, kind: str, tier: str, content_sha: str
) -> Subject:
    """The subject of a version as the registry reports it; a prompt binds its content, not a source.

    A prompt version's store record carries a placeholder source and no run, so its subject's
    source is :data:`PROMPT_SOURCE` and its run empty; the guard refuses a prompt version whose
    stored source is anything but a placeholder, so no files can hide behind a signed prompt.
    """
    if kind == "prompt":
        source, run_id = PROMPT_SOURCE, ""
    return Subject(name, str(version), source, run_id, kind, tier, content_sha)


@dataclass(frozen=True)
class Identity:
    """The candidate a run's decision vouches for: what the job logged, as it logged it.

    ``ref`` is the logged model's id (``m-…``) or, for a prompt, ``prompt``; ``content_sha`` the
    digest of the files (or template tags) the job produced; ``kind`` and ``tier`` as in
    :class:`Subject`.
    """

    run_id: str
    ref: str
    content_sha: str
    kind: str = "model"
    tier: str = ""


def gate_key() -> bytes | None:
    """The signing key, or ``None`` when the environment sets none."""
    from ftlineage.settings import Settings

    return Settings.from_env().gate_key


def decision_digest(decision: GateDecision) -> str:
    """SHA-256 of the decision's canonical JSON."""
    return sha256_json(json.loads(decision.model_dump_json()), domain="decision")


def _mac(key: bytes, domain: str, fields: tuple[str, ...]) -> str:
    """HMAC-SHA256 over length-prefixed fields, so no field can bleed into the next."""
    message = b"".join(len(f.encode()).to_bytes(8, "big") + f.encode() for f in (domain, *fields))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature(digest: str, verdict: str, subject: Subject, key: bytes) -> str:
    """HMAC-SHA256 over (decision digest, verdict, every field of the subject).

    The verdict is signed too, so flipping the ``ftlineage.decision`` tag of a version whose
    signed decision was "blocked" to "pass" does not verify.
    """
    s = subject
    fields = (digest, verdict, s.name, s.version, s.source, s.run_id, s.kind, s.tier, s.content_sha)
    return _mac(key, "ftlineage-evidence:v4", fields)


def identity_signature(digest: str, verdict: str, identity: Identity, key: bytes) -> str:
    """HMAC-SHA256 binding a run's decision to the candidate it judged."""
    i = identity
    return _mac(
        key, "ftlineage-identity:v1", (digest, verdict, i.run_id, i.ref, i.content_sha, i.kind, i.tier)
    )


def ledger_signature(entry: str, previous: str, target: str, key: bytes) -> str:
    """HMAC-SHA256 over a protected alias's ledger entry: its name, the version it moves from and to."""
    return _mac(key, "ftlineage-ledger:v1", (entry, previous, target))


def identity_tags(decision: GateDecision, identity: Identity, key: bytes | None) -> dict[str, str]:
    """Run tags recording the candidate identity, signed when a key is at hand."""
    tags = {
        T.CANDIDATE_REF: identity.ref,
        T.CANDIDATE_SHA: identity.content_sha,
    }
    if key:
        tags[T.CANDIDATE_HMAC] = identity_signature(
            decision_digest(decision), decision.decision, identity, key
        )
    return tags


def verify_identity(
    run_tags: dict[str, str], decision: GateDecision, identity: Identity, key: bytes
) -> tuple[bool, str]:
    """Whether the run's signed identity names exactly ``identity`` for ``decision``, and why."""
    mac = run_tags.get(T.CANDIDATE_HMAC)
    if not mac:
        return False, (
            f"run {identity.run_id} carries no signed candidate identity ({T.CANDIDATE_HMAC!r}): the job "
            f"decided without {KEY_ENV}; re-run the gate with the key"
        )
    expected = identity_signature(decision_digest(decision), decision.decision, identity, key)
    if not hmac.compare_digest(mac, expected):
        return False, (
            f"run {identity.run_id}: the candidate it names ({identity.ref}, content "
            f"{identity.content_sha[:12]}…) is not the one its decision signed (a run tag or an artifact "
            "was changed after the decision)"
        )
    return True, f"run {identity.run_id}: the candidate identity verifies"


def evidence_tags(decision: GateDecision) -> dict[str, str]:
    """Version tags set at creation: the verdict and the decision digest."""
    return {DECISION_TAG: decision.decision, DIGEST_TAG: decision_digest(decision)}


def signer(decision: GateDecision, key: bytes | None) -> Callable[[Subject], dict[str, str]] | None:
    """Tags to add once the version exists (the HMAC over its subject), or ``None`` without a key."""
    if not key:
        return None
    digest = decision_digest(decision)
    verdict = decision.decision
    return lambda subject: {HMAC_TAG: signature(digest, verdict, subject, key)}


def verify(tags: dict[str, str], subject: Subject, key: bytes) -> tuple[bool, str]:
    """Whether a version's tags carry passing evidence signed for that very subject, and why."""
    version = subject.version
    if tags.get(DECISION_TAG) != "pass":
        return False, f"version {version} has no passing gate decision (tag {DECISION_TAG!r})"
    digest, mac = tags.get(DIGEST_TAG), tags.get(HMAC_TAG)
    if not digest or not mac:
        return False, f"version {version} carries no signed evidence ({DIGEST_TAG!r} and {HMAC_TAG!r})"
    expected = signature(digest, "pass", subject, key)
    if not hmac.compare_digest(mac, expected):
        tier = f", tier {subject.tier!r}" if subject.tier else ""
        return (
            False,
            f"version {version}: the evidence signature does not verify for {subject.name!r} v{version} "
            f"({subject.kind}{tier}) with source {subject.source!r}, run {subject.run_id!r} and content "
            f"{subject.content_sha[:12] or 'unreadable'}… (copied, edited, or other files served)",
        )
    return True, f"version {version}: evidence verifies"
