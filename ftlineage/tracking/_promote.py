"""Promotion through the registry: register a passing run, move an alias with compare-and-set.

Moving an alias is last-writer-wins in MLflow, so two promotions racing for ``@champion``
would both "succeed". Each move therefore first claims the next entry of a promotion
ledger: a registered model named ``ftlineage-ledger.<model>.<alias>.<n>``. Registered
model names are unique in every store, so of two promotions that read the same ledger
length exactly one can create entry ``n``; the other gets a conflict error and changes
nothing. The ledger doubles as the alias's history (from, to, when, why).
"""

from __future__ import annotations

from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ftlineage._userfile import parse_versioned
from ftlineage.errors import PromotionConflict, PromotionRefused
from ftlineage.gate import GateDecision
from ftlineage.gate.evidence import (
    DECISION_TAG,
    DIGEST_TAG,
    MODEL_SHA_TAG,
    Subject,
    decision_digest,
    evidence_tags,
    signer,
    verify,
)
from ftlineage.tracking._mlflow import read_artifact_text
from ftlineage.tracking._registry import CANDIDATE_TAG, register

LEDGER = "ftlineage-ledger"
REGISTERED_TAG = "ftlineage.registered_version"
STAGES = {"challenger": "Staging", "champion": "Production"}


def _read_artifact(client: MlflowClient, run_id: str, path: str) -> str:
    text = read_artifact_text(client, run_id, path)
    if text is None:
        raise PromotionRefused(
            f"run {run_id} has no artifact {path!r}; promote a run of the main job that passed the gate"
        )
    return text


def read_decision(client: MlflowClient, run_id: str) -> GateDecision:
    """The gate decision a run logged; an unreadable one refuses the promotion."""
    text = _read_artifact(client, run_id, "gate/decision.json")
    where = f"run {run_id}: gate/decision.json"
    fix = "re-run the job"
    return parse_versioned(GateDecision, text, where, PromotionRefused, what="gate decision", fix=fix)


def candidate_uri(run: Any) -> str:
    """Where the run's candidate model is: its logged model, or (runs before MLflow 3) ``model/``."""
    model_id = run.data.tags.get(CANDIDATE_TAG)
    return f"models:/{model_id}" if model_id else f"{run.info.artifact_uri}/model"


def register_run(
    client: MlflowClient, run_id: str, *, name: str, alias: str, key: bytes | None, stage: bool = False
) -> str:
    """Register a run's logged model on a passing decision only; idempotent per run.

    Reads ``gate/decision.json`` and the card the job logged; the run's lineage tags and
    the signed evidence become version tags. Returns the version number.
    """
    run = client.get_run(run_id)
    decision = read_decision(client, run_id)
    if decision.decision != "pass":
        reasons = "; ".join(c.reason for c in decision.failed)
        raise PromotionRefused(f"run {run_id} was blocked by the gate, so it is not registered: {reasons}")
    card = _read_artifact(client, run_id, "model/model_card.md")
    lineage = {k: v for k, v in run.data.tags.items() if k.startswith("ftlineage.") and k.endswith("_sha")}
    version = register(
        client,
        name=name,
        model_uri=candidate_uri(run),
        run_id=run_id,
        tags={**lineage, **evidence_tags(decision)},
        description=card,
        alias=alias,
        signed_tags=signer(decision, lineage.get(MODEL_SHA_TAG, ""), key),
    )
    if stage and alias in STAGES:
        client.transition_model_version_stage(name, version, STAGES[alias], archive_existing_versions=True)
    client.set_tag(run_id, REGISTERED_TAG, version)
    return version


def current_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version an alias points at, or ``None``."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


IN_FLIGHT_S = 600  # a ledger entry younger than this whose move is not visible yet is in flight


def _ledger_length(client: MlflowClient, name: str, alias: str) -> int:
    """The number of the ledger's last entry (0 when empty)."""
    prefix = f"{LEDGER}.{name}.{alias}."
    found = client.search_registered_models(f"name LIKE '{prefix}%'", max_results=1000)
    return max((int(m.name[len(prefix) :]) for m in found if m.name[len(prefix) :].isdigit()), default=0)


def _check_not_in_flight(client: MlflowClient, name: str, alias: str, n: int, now: str | None) -> None:
    """Refuse to move while the ledger's last move has not reached the alias yet.

    The ledger entry is created before the alias moves, so a promotion that reads the alias
    between the two would otherwise see the old value and win too.
    """
    import time

    if n == 0:
        return
    last = client.get_registered_model(f"{LEDGER}.{name}.{alias}.{n}")
    target = last.tags.get("to")
    fresh = time.time() * 1000 - (last.creation_timestamp or 0) < IN_FLIGHT_S * 1000
    if target != (now or "none") and fresh:
        raise PromotionConflict(
            f"conflict: another promotion is moving @{alias} of {name!r} to v{target} right now; nothing "
            "was changed — check it, then re-run"
        )


def move_alias(
    client: MlflowClient,
    name: str,
    alias: str,
    version: str,
    *,
    expect: str | None = None,
    why: str = "",
    stage: bool = False,
) -> str:
    """Point ``@alias`` at ``version`` unless another promotion moved it first.

    ``expect`` is the version the caller believes the alias points at now ("none" for
    unset); by default whatever it points at when this call reads it. Returns the ledger
    entry's name. Raises ``PromotionConflict`` on a lost race or a stale expectation.
    """
    n = _ledger_length(client, name, alias)
    now = current_version(client, name, alias)
    _check_not_in_flight(client, name, alias, n, now)
    if expect is not None and expect != (now or "none"):
        raise PromotionConflict(
            f"@{alias} of {name!r} points at {'v' + now if now else 'nothing'}, not {expect!r} as expected; "
            "another promotion got there first — check it, then re-run with the current version"
        )
    entry = f"{LEDGER}.{name}.{alias}.{n + 1}"
    tags = {"ftlineage.ledger": "1", "model": name, "alias": alias, "from": now or "none", "to": version}
    try:
        client.create_registered_model(
            entry, tags={**tags, "why": why[:4000]}, description=f"@{alias}: {now or 'none'} -> {version}"
        )
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        winner = client.get_registered_model(entry).tags.get("to", "?")
        raise PromotionConflict(
            f"conflict: another promotion moved @{alias} of {name!r} to v{winner} while this one "
            f"(v{version}) ran; nothing was changed — re-run to promote on top of it"
        ) from None
    try:
        client.set_registered_model_alias(name, alias, version)
        if stage and alias in STAGES:
            client.transition_model_version_stage(name, version, STAGES[alias], True)
    except BaseException:
        client.delete_registered_model(entry)  # the move did not happen: free the ledger slot
        raise
    return entry


def subject_of(client: MlflowClient, name: str, version: str) -> tuple[Subject, dict[str, str]]:
    """What evidence on ``name`` v``version`` must be bound to, and the version's tags."""
    mv = client.get_model_version(name, version)
    return Subject(name, str(mv.version), str(mv.source), str(mv.run_id or "")), dict(mv.tags)


def check_evidence(client: MlflowClient, name: str, version: str, key: bytes | None) -> str:
    """Refuse a protected move onto a version without passing evidence; the guard re-checks.

    With a key, the signature must verify for this version's name, number, source, run and
    weights. Without one (a client that does not hold the key), the version's run must still
    have logged a passing decision whose digest is the one the version carries: a version
    tagged blocked, or relabelled pass, is refused here whatever the server does.
    """
    subject, tags = subject_of(client, name, version)
    if key is not None:
        ok, reason = verify(tags, subject, key)
        if not ok:
            raise PromotionRefused(f"{name!r} v{version}: {reason}")
        return reason
    if tags.get(DECISION_TAG) != "pass":
        raise PromotionRefused(
            f"{name!r} v{version}: its gate decision is {tags.get(DECISION_TAG, 'missing')!r}, not 'pass'"
        )
    if not subject.run_id:
        raise PromotionRefused(f"{name!r} v{version}: no run behind it, so no gate decision to check")
    decision = read_decision(client, subject.run_id)
    if decision.decision != "pass" or decision_digest(decision) != tags.get(DIGEST_TAG):
        raise PromotionRefused(
            f"{name!r} v{version}: the decision its run {subject.run_id} logged is {decision.decision!r} "
            f"with digest {decision_digest(decision)[:12]}…, which is not the passing decision it claims"
        )
    return "no FTLINEAGE_GATE_KEY here: the run's passing decision matches; the guard checks the signature"
