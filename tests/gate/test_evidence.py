import dataclasses

import pytest

from ftlineage.gate import GateDecision
from ftlineage.gate.evidence import (
    HMAC_TAG,
    MODEL_SHA_TAG,
    Subject,
    decision_digest,
    evidence_tags,
    signer,
    verify,
)

KEY = b"k" * 32
PASS = GateDecision(decision="pass", stage="gate", checks=(), lineage={"prompt_sha": "p" * 64})
SUBJECT = Subject("hc", "3", "s3://bucket/1/run-a/artifacts/model", "run-a")
WEIGHTS = "w" * 64


def _signed(decision=PASS, subject=SUBJECT):
    return {**evidence_tags(decision), MODEL_SHA_TAG: WEIGHTS, **signer(decision, WEIGHTS, KEY)(subject)}


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
        ({**_signed(), MODEL_SHA_TAG: "e" * 64}, SUBJECT, KEY, "does not verify"),  # weights SHA edited
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
    assert signer(PASS, WEIGHTS, None) is None


def test_a_decision_with_no_decisive_arena_pair_round_trips():
    from ftlineage.gate.rule import Check

    nan = float("nan")
    check = Check(name="arena", kind="arena", passed=False, interval=(nan, nan), reason="no decisive pair")
    blocked = GateDecision(decision="blocked", stage="gate", checks=(check,), lineage={})
    back = GateDecision.model_validate_json(blocked.model_dump_json())
    assert back.checks[0].interval is not None
    assert all(v != v for v in back.checks[0].interval)  # NaN again, not a validation error
    assert decision_digest(back) == decision_digest(blocked)
