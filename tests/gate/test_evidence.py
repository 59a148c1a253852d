import dataclasses

import pytest

from ftlineage.gate import GateDecision
from ftlineage.gate.evidence import (
    HMAC_TAG,
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

KEY = b"k" * 32
PASS = GateDecision(decision="pass", stage="gate", checks=(), lineage={"prompt_sha": "p" * 64})
CONTENT = "c" * 64
SUBJECT = Subject("hc", "3", "s3://bucket/1/run-a/artifacts/model", "run-a", "model", "", CONTENT)


def _signed(decision=PASS, subject=SUBJECT):
    sign = signer(decision, KEY)
    assert sign is not None
    return {**evidence_tags(decision), **sign(subject)}


def _other(**change):
    return dataclasses.replace(SUBJECT, **change)


def test_valid_evidence_verifies():
    ok, why = verify(_signed(), SUBJECT, KEY)
    assert ok, why


@pytest.mark.parametrize(
    ("tags", "subject", "key", "why"),
    [
        ({**_signed(), HMAC_TAG: "0" * 64}, SUBJECT, KEY, "does not verify"),  # forged tag
        (_signed(subject=_other(version="2")), SUBJECT, KEY, "does not verify"),  # from another version
        (evidence_tags(PASS), SUBJECT, KEY, "no signed evidence"),  # missing signature
        (_signed(), _other(name="other-model"), KEY, "does not verify"),
        # the same name and number re-created (rename / delete-and-recreate) over other weights
        (_signed(), _other(source="s3://bucket/evil-weights"), KEY, "does not verify"),
        (_signed(), _other(run_id="run-b"), KEY, "does not verify"),
        (_signed(), _other(content_sha="e" * 64), KEY, "does not verify"),  # files rewritten after signing
        (_signed(), _other(tier="int4"), KEY, "does not verify"),  # a tier posing as another
        (_signed(subject=_other(tier="int4")), SUBJECT, KEY, "does not verify"),  # a tier posing as FP
        (_signed(), _other(kind="prompt"), KEY, "does not verify"),
        (_signed(), SUBJECT, b"wrong key", "does not verify"),
        (_signed(PASS.model_copy(update={"decision": "blocked"})), SUBJECT, KEY, "no passing gate decision"),
    ],
)
def test_bad_evidence_is_refused_with_a_reason(tags, subject, key, why):
    ok, reason = verify(tags, subject, key)
    assert not ok
    assert why in reason


def test_a_blocked_decision_relabelled_pass_does_not_verify():
    blocked = PASS.model_copy(update={"decision": "blocked"})
    tags = _signed(blocked)
    tags["ftlineage.decision"] = "pass"  # forged verdict over a genuinely signed digest
    ok, reason = verify(tags, SUBJECT, KEY)
    assert not ok
    assert "does not verify" in reason


def test_digest_covers_the_whole_decision():
    assert decision_digest(PASS) != decision_digest(
        PASS.model_copy(update={"lineage": {"prompt_sha": "q" * 64}})
    )
    assert signer(PASS, None) is None


def test_a_prompt_subject_binds_its_content_not_a_source():
    a = subject_for("p", "1", source="dummy-source", run_id="r", kind="prompt", tier="", content_sha=CONTENT)
    b = subject_for(
        "p", "1", source="prompt-template", run_id="", kind="prompt", tier="", content_sha=CONTENT
    )
    assert a == b
    assert verify(_signed(subject=a), b, KEY)[0]
    assert not verify(_signed(subject=a), dataclasses.replace(b, content_sha="d" * 64), KEY)[0]


def test_the_candidate_identity_is_what_the_decision_signed():
    identity = Identity("run-a", "models:/m-1", CONTENT)
    tags = identity_tags(PASS, identity, KEY)
    assert verify_identity(tags, PASS, identity, KEY)[0]
    hijacked = dataclasses.replace(identity, ref="models:/m-attacker")
    ok, why = verify_identity(tags, PASS, hijacked, KEY)
    assert not ok
    assert "not the one its decision signed" in why
    assert not verify_identity(tags, PASS, dataclasses.replace(identity, content_sha="d" * 64), KEY)[0]
    assert not verify_identity(tags, PASS, identity, b"other key")[0]
    unsigned = identity_tags(PASS, identity, None)
    ok, why = verify_identity(unsigned, PASS, identity, KEY)
    assert not ok
    assert "no signed candidate identity" in why


def test_a_ledger_signature_binds_entry_and_move():
    sig = ledger_signature("ftlineage-ledger.m.champion.2", "1", "3", KEY)
    assert sig != ledger_signature("ftlineage-ledger.m.champion.3", "1", "3", KEY)
    assert sig != ledger_signature("ftlineage-ledger.m.champion.2", "1", "4", KEY)


def test_a_decision_with_no_decisive_arena_pair_round_trips():
    from ftlineage.gate.rule import Check

    nan = float("nan")
    check = Check(name="arena", kind="arena", passed=False, interval=(nan, nan), reason="no decisive pair")
    blocked = GateDecision(decision="blocked", stage="gate", checks=(check,), lineage={})
    back = GateDecision.model_validate_json(blocked.model_dump_json())
    assert back.checks[0].interval is not None
    assert all(v != v for v in back.checks[0].interval)  # NaN again, not a validation error
    assert decision_digest(back) == decision_digest(blocked)
