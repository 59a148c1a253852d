"""Promotion policy over any :class:`~ftlineage.tracking.Registry`: what may be registered, how aliases move.

* **Register** a run only on its logged passing decision. A version is created with every tag
  and ``ftlineage.promotion=pending``, signed, aliased, and only then marked ``done``; a crash
  in between leaves a version that :func:`half_promoted` finds.
* **Move an alias** with compare-and-set. Moving an alias is last-writer-wins in every
  registry, so two promotions racing for ``@champion`` would both "succeed". Each move first
  claims the next entry of a promotion ledger (``ftlineage-ledger.<model>.<alias>.<n>``);
  ``Registry.claim`` is atomic, so of two promotions that read the same ledger length exactly
  one gets entry ``n``; the other gets :class:`~ftlineage.errors.PromotionConflict` and changes
  nothing. The ledger doubles as the alias's history (from, to, when, why).
* **Check evidence** before a protected move (the guard server re-checks it).
* **Never trust a mutable tag**: the job signs the candidate's identity (logged model and content
  digest) when it decides (:func:`sign_candidate`); registering a run verifies that signature
  against the content it downloads before anything is created.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ftlineage import tags as T
from ftlineage.errors import PromotionConflict, PromotionRefused
from ftlineage.gate.evidence import (
    DECISION_TAG,
    DIGEST_TAG,
    Identity,
    Subject,
    decision_digest,
    evidence_tags,
    identity_tags,
    ledger_signature,
    signer,
    subject_for,
    verify,
    verify_identity,
)
from ftlineage.gate.rule import GateDecision
from ftlineage.readers import parse_versioned
from ftlineage.recipe import RegistrySpec
from ftlineage.tracking import ModelVersion, Registry

__all__ = [
    "LEDGER",
    "Aliases",
    "check_evidence",
    "claim_move",
    "clean_half_promoted",
    "current_version",
    "half_promoted",
    "move_alias",
    "read_decision",
    "register",
    "register_prompt_run",
    "register_run",
    "sign_candidate",
    "sign_version",
    "subject_of",
]

LEDGER = "ftlineage-ledger"
IN_FLIGHT_S = 600  # a ledger entry younger than this whose move is not visible yet is in flight


@dataclass(frozen=True)
class Aliases:
    """The alias names a team uses; the defaults are the recipe's (``registry:`` section)."""

    challenger: str
    champion: str
    rolled_back: str

    @classmethod
    def of(cls, spec: RegistrySpec | None = None) -> Aliases:
        """The aliases a recipe's registry section names (the defaults without one)."""
        s = spec or RegistrySpec()
        return cls(s.alias, s.champion_alias, s.rolled_back_alias)

    def stage(self, alias: str) -> str | None:
        """The legacy registry stage a move onto ``alias`` also makes, if any."""
        return {self.challenger: "Staging", self.champion: "Production"}.get(alias)


def read_decision(registry: Registry, run_id: str) -> GateDecision:
    """The gate decision a run logged; a missing or unreadable one refuses the promotion."""
    path = "gate/decision.json"
    text = registry.read_run_file(run_id, path)
    if text is None:
        raise PromotionRefused(
            f"run {run_id} has no artifact {path!r}; promote a run of the main job that passed the gate"
        )
    where, fix = f"run {run_id}: {path}", "re-run the job"
    return parse_versioned(GateDecision, text, where, PromotionRefused, what="gate decision", fix=fix)


def passing_decision(registry: Registry, run_id: str) -> GateDecision:
    """The run's logged decision when it passed; a blocked run is refused naming what failed."""
    decision = read_decision(registry, run_id)
    if decision.decision != "pass":
        reasons = "; ".join(c.reason for c in decision.failed)
        raise PromotionRefused(f"run {run_id} was blocked by the gate, so it is not registered: {reasons}")
    return decision


def _check_vouched(subject: Subject, source: str, content_sha: str, stored_source: str) -> None:
    """Refuse to sign a new version unless it serves what the run vouched for."""
    if subject.kind == "prompt":
        ok = stored_source == source
    else:
        ok = not content_sha or subject.content_sha == content_sha
    if not ok:
        raise PromotionRefused(
            f"{subject.name!r} v{subject.version} does not serve the content the run's decision vouched "
            f"for; it stays pending — `ftlineage registry check {subject.name} --clean` removes it"
        )


def sign_version(registry: Registry, name: str, version: str, decision: GateDecision, key: bytes) -> Subject:
    """The key holder's step: sign ``decision`` for what version ``version`` of ``name`` serves now."""
    sign = signer(decision, key)
    assert sign is not None  # a key was given
    subject, _ = subject_of(registry, name, version)
    for tag, value in sign(subject).items():
        registry.set_version_tag(name, version, tag, value)
    return subject


def register(
    registry: Registry,
    *,
    name: str,
    source: str,
    run_id: str,
    tags: Mapping[str, str],
    description: str,
    alias: str,
    signed_tags: Callable[[Subject], dict[str, str]] | None = None,
    content_sha: str = "",
) -> str:
    """Create a version carrying every tag and the card, sign it, alias it; returns its number.

    Idempotent per run and tier: a version this run already has (done, or left pending by a
    crash) is finished instead of registering a second one. ``content_sha`` is the digest of what
    the new version must serve (checked once it exists; empty signs whatever it serves, for a
    caller that produced the files itself).
    """
    registry.ensure_model(name, "Registered by ftlineage on a gate pass.")
    tier = str(tags.get(T.TIER, ""))
    existing = [v for v in registry.find_versions(name, run_id=run_id) if v.tags.get(T.TIER, "") == tier]
    if existing:
        version = existing[0]
        if version.tags.get(T.PROMOTION) == "done":
            return version.version
    else:
        pending = {**tags, T.PROMOTION: "pending"}
        version = registry.create_version(
            name, source=source, run_id=run_id, tags=pending, description=description
        )
    if signed_tags:
        subject, _ = subject_of(registry, name, version.version)
        _check_vouched(subject, source, content_sha, version.source)
        for key, value in signed_tags(subject).items():
            registry.set_version_tag(name, version.version, key, value)
    if registry.aliases(name).get(alias) != version.version:
        registry.set_alias(name, alias, version.version)
    registry.set_version_tag(name, version.version, T.PROMOTION, "done")
    return version.version


def _verified_identity(
    registry: Registry, run_id: str, decision: GateDecision, identity: Identity, key: bytes | None
) -> None:
    """With a key, refuse unless the run's decision signed exactly this candidate identity."""
    if key is None:
        return
    ok, reason = verify_identity(registry.run_tags(run_id) or {}, decision, identity, key)
    if not ok:
        raise PromotionRefused(f"nothing was registered: {reason}")


def sign_candidate(
    registry: Registry,
    run_id: str,
    decision: GateDecision,
    key: bytes | None,
    *,
    kind: str = "model",
    tier: str = "",
) -> Identity:
    """Record (and, with a key, sign) the candidate a run's decision vouches for, as the store holds it.

    A model candidate's content digest is recomputed from the files the store serves for the
    run's candidate; a prompt candidate's from ``prompt/prompt.json``.
    """
    if kind == "prompt":
        identity = Identity(run_id, "prompt", _prompt_content(registry, run_id)[1], "prompt", tier)
    else:
        source = registry.candidate_source(run_id)
        identity = Identity(run_id, source, registry.content_sha(source), "model", tier)
    for tag, value in identity_tags(decision, identity, key).items():
        registry.set_run_tag(run_id, tag, value)
    return identity


def register_run(
    registry: Registry,
    run_id: str,
    *,
    name: str,
    alias: str,
    key: bytes | None,
    stage: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> str:
    """Register a run's candidate model on a passing decision only; idempotent per run.

    The run's lineage tags, ``extra_tags`` (e.g. ``ftlineage.tier``) and the signed evidence
    become version tags; ``stage`` also makes a legacy stage transition. With a key, the
    candidate's files are downloaded and must be the ones the run's decision signed (its
    identity), whatever the run's tags say now. Returns the version number.
    """
    decision = passing_decision(registry, run_id)
    card = registry.read_run_file(run_id, "model/model_card.md")
    if card is None:
        raise PromotionRefused(f"run {run_id} has no model card (model/model_card.md); re-run the job")
    run_tags = registry.run_tags(run_id) or {}
    lineage = T.lineage_of(run_tags)
    kind = {T.CANDIDATE_KIND: run_tags.get(T.CANDIDATE_KIND, "trained")}
    extra = dict(extra_tags or {})
    source = registry.candidate_source(run_id)
    content = registry.content_sha(source) if key is not None else ""
    identity = Identity(run_id, source, content, "model", extra.get(T.TIER, ""))
    _verified_identity(registry, run_id, decision, identity, key)
    version = register(
        registry,
        name=name,
        source=source,
        run_id=run_id,
        tags={**lineage, **kind, **extra, **evidence_tags(decision)},
        description=card,
        alias=alias,
        signed_tags=signer(decision, key),
        content_sha=content,
    )
    if stage:
        registry.transition_stage(name, version, stage)
    registry.set_run_tag(run_id, T.REGISTERED_VERSION, version)
    return version


PROMPT_FILE = "prompt/prompt.json"


def _prompt_content(registry: Registry, run_id: str) -> tuple[str, str]:
    """A prompt run's template as the registry stores it, and its digest."""
    import json

    from ftlineage.lineage import sha256_prompt

    text = registry.read_run_file(run_id, PROMPT_FILE)
    if text is None:
        raise PromotionRefused(f"run {run_id} has no {PROMPT_FILE}; it is not a prompt candidate's run")
    template = json.loads(text)["template"]
    source = (
        template if isinstance(template, str) else json.dumps(template, sort_keys=True, ensure_ascii=False)
    )
    return source, sha256_prompt(source)


def register_prompt_run(registry: Registry, run_id: str, *, name: str, alias: str, key: bytes | None) -> str:
    """Register a prompt run's candidate (``prompt/prompt.json``) on a passing decision only.

    ``registry`` is the Prompt Registry adapter: the version's source is the template, its tags
    the run's lineage, ``ftlineage.candidate_kind=prompt`` and the signed evidence. With a key,
    the template must be the one the run's decision signed.
    """
    decision = passing_decision(registry, run_id)
    source, digest = _prompt_content(registry, run_id)
    _verified_identity(registry, run_id, decision, Identity(run_id, "prompt", digest, "prompt"), key)
    lineage = T.lineage_of(registry.run_tags(run_id) or {})
    version = register(
        registry,
        name=name,
        source=source,
        run_id=run_id,
        tags={**lineage, T.CANDIDATE_KIND: "prompt", **evidence_tags(decision)},
        description=f"passed the ftlineage gate in run {run_id}",
        alias=alias,
        signed_tags=signer(decision, key),
    )
    registry.set_run_tag(run_id, T.REGISTERED_VERSION, version)
    return version


def current_version(registry: Registry, name: str, alias: str) -> str | None:
    """The version ``@alias`` points at, or ``None``."""
    return registry.aliases(name).get(alias)


def half_promoted(registry: Registry, name: str) -> tuple[list[str], list[str]]:
    """Versions a crash left ``pending``: (never aliased, aliased but never marked done), oldest first."""
    pending = [v.version for v in registry.find_versions(name, tag=(T.PROMOTION, "pending"))]
    aliased = set(registry.aliases(name).values())
    return [v for v in pending if v not in aliased], [v for v in pending if v in aliased]


def clean_half_promoted(registry: Registry, name: str) -> tuple[list[str], list[str]]:
    """Delete the never-aliased versions; mark the aliased ones done (an alias still points there)."""
    orphans, aliased = half_promoted(registry, name)
    for version in orphans:
        registry.delete_version(name, version)
    for version in aliased:
        registry.set_version_tag(name, version, T.PROMOTION, "done")
    return orphans, aliased


def _ledger_prefix(name: str, alias: str) -> str:
    return f"{LEDGER}.{name}.{alias}."


def _ledger_length(registry: Registry, name: str, alias: str) -> int:
    """The number of the ledger's last entry (0 when empty); other names under the prefix are ignored."""
    prefix = _ledger_prefix(name, alias)
    numbers = (key[len(prefix) :] for key in registry.claims(prefix))
    return max((int(n) for n in numbers if _LEDGER_NUMBER.fullmatch(n)), default=0)


_LEDGER_NUMBER = re.compile(r"[1-9][0-9]{0,17}")


def _check_not_in_flight(registry: Registry, name: str, alias: str, n: int, now: str | None) -> None:
    """Refuse to move while the ledger's last move has not reached the alias yet.

    The ledger entry is claimed before the alias moves, so a promotion that reads the alias
    between the two would otherwise see the old value and win too.
    """
    last = registry.claimed(f"{_ledger_prefix(name, alias)}{n}") if n else None
    if last is None:
        return
    entry, created = last
    target = entry.get("to")
    if target != (now or "none") and time.time() - created < IN_FLIGHT_S:
        raise PromotionConflict(
            f"conflict: another promotion is moving @{alias} of {name!r} to v{target} right now; nothing "
            "was changed — check it, then re-run"
        )


def claim_move(
    registry: Registry,
    name: str,
    alias: str,
    version: str,
    *,
    expect: str | None = None,
    why: str = "",
    key: bytes | None = None,
) -> str:
    """Claim the ledger entry for moving ``@alias`` to ``version`` (signed with ``key``); returns it.

    ``expect`` is the version the caller believes the alias points at now ("none" for unset);
    by default whatever it points at when this call reads it. Raises ``PromotionConflict`` on a
    lost race or a stale expectation. The guard lets a protected alias move only onto the
    target of the newest signed entry, so the claim comes first and the move second.
    """
    n = _ledger_length(registry, name, alias)
    now = current_version(registry, name, alias)
    _check_not_in_flight(registry, name, alias, n, now)
    if expect is not None and expect != (now or "none"):
        raise PromotionConflict(
            f"@{alias} of {name!r} points at {'v' + now if now else 'nothing'}, not {expect!r} as expected; "
            "another promotion got there first — check it, then re-run with the current version"
        )
    entry = f"{_ledger_prefix(name, alias)}{n + 1}"
    tags = {T.LEDGER: "1", "model": name, "alias": alias, "from": now or "none", "to": version}
    if key:  # a protected alias's ledger takes only entries the key holder signed (the guard checks)
        tags[T.LEDGER_HMAC] = ledger_signature(entry, now or "none", version, key)
    if not registry.claim(entry, {**tags, "why": why[:4000]}, f"@{alias}: {now or 'none'} -> {version}"):
        winner = (registry.claimed(entry) or ({}, 0.0))[0].get("to", "?")
        raise PromotionConflict(
            f"conflict: another promotion moved @{alias} of {name!r} to v{winner} while this one "
            f"(v{version}) ran; nothing was changed — re-run to promote on top of it"
        )
    return entry


def move_alias(
    registry: Registry,
    name: str,
    alias: str,
    version: str,
    *,
    expect: str | None = None,
    why: str = "",
    stage: str | None = None,
    key: bytes | None = None,
) -> str:
    """Point ``@alias`` at ``version`` unless another promotion moved it first; returns the ledger entry.

    See :func:`claim_move` for ``expect``, ``why`` and ``key``; ``stage`` also makes the legacy
    stage transition. A move that fails after the claim releases the entry.
    """
    entry = claim_move(registry, name, alias, version, expect=expect, why=why, key=key)
    try:
        registry.set_alias(name, alias, version)
        if stage:
            registry.transition_stage(name, version, stage)
    except BaseException:
        registry.release(entry)  # the move did not happen: free the ledger slot
        raise
    return entry


def subject_of(registry: Registry, name: str, version: str) -> tuple[Subject, dict[str, str]]:
    """What evidence on ``name`` v``version`` must be bound to (content recomputed), and its tags."""
    mv: ModelVersion | None = registry.get_version(name, version)
    if mv is None:
        raise PromotionRefused(f"{name!r} has no version {version}; see the registry")
    subject = subject_for(
        name,
        mv.version,
        source=mv.source,
        run_id=mv.run_id,
        kind=registry.kind,
        tier=mv.tags.get(T.TIER, ""),
        content_sha=registry.served_sha(name, mv.version),
    )
    return subject, dict(mv.tags)


def check_evidence(registry: Registry, name: str, version: str, key: bytes | None) -> str:
    """Refuse a protected move onto a version without passing evidence; the guard re-checks.

    With a key, the signature must verify for this version's name, number, source, run, kind,
    tier and the content it serves (downloaded and hashed here). Without one (a client that does
    not hold the key), the version's run must still have logged a passing decision whose digest
    is the one the version carries: a version tagged blocked, or relabelled pass, is refused here
    whatever the server does.
    """
    if key is not None:
        subject, tags = subject_of(registry, name, version)
        ok, reason = verify(tags, subject, key)
        if not ok:
            raise PromotionRefused(f"{name!r} v{version}: {reason}")
        return reason
    mv = registry.get_version(name, version)
    if mv is None:
        raise PromotionRefused(f"{name!r} has no version {version}; see the registry")
    tags = dict(mv.tags)
    if tags.get(DECISION_TAG) != "pass":
        raise PromotionRefused(
            f"{name!r} v{version}: its gate decision is {tags.get(DECISION_TAG, 'missing')!r}, not 'pass'"
        )
    if not mv.run_id:
        raise PromotionRefused(f"{name!r} v{version}: no run behind it, so no gate decision to check")
    decision = read_decision(registry, mv.run_id)
    if decision.decision != "pass" or decision_digest(decision) != tags.get(DIGEST_TAG):
        raise PromotionRefused(
            f"{name!r} v{version}: the decision its run {mv.run_id} logged is {decision.decision!r} "
            f"with digest {decision_digest(decision)[:12]}…, which is not the passing decision it claims"
        )
    return "no FTLINEAGE_GATE_KEY here: the run's passing decision matches; the guard checks the signature"
