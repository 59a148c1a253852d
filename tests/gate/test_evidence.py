import pytest

from ftlineage.gate import GateDecision
from ftlineage.gate.evidence import HMAC_TAG, decision_digest, evidence_tags, signer, verify

KEY = b"k" * 32
PASS = GateDecision(decision="pass", stage="gate", checks=(), lineage={"prompt_sha": "p" * 64})


def _signed(decision=PASS, version="3"):
    return {**evidence_tags(decision), **signer(decision, "hc", KEY)(version)}


def test_valid_evidence_verifies():
    ok, why = verify(_signed(), "hc", "3", KEY)
    assert ok, why


@pytest.mark.parametrize(
    ("tags", "name", "version", "key", "why"),
    [
        ({**_signed(), HMAC_TAG: "0" * 64}, "hc", "3", KEY, "does not verify"),  # forged tag
        (_signed(version="2"), "hc", "3", KEY, "does not verify"),  # tag from another version
        (evidence_tags(PASS), "hc", "3", KEY, "no signed evidence"),  # missing signature
        (_signed(), "other-model", "3", KEY, "does not verify"),
        (_signed(), "hc", "3", b"wrong key", "does not verify"),
        (
            _signed(PASS.model_copy(update={"decision": "blocked"})),
            "hc",
            "3",
            KEY,
            "no passing gate decision",
        ),
    ],
)
def test_bad_evidence_is_refused_with_a_reason(tags, name, version, key, why):
    ok, reason = verify(tags, name, version, key)
    assert not ok
    assert why in reason


def test_a_blocked_decision_relabelled_pass_does_not_verify():
    blocked = PASS.model_copy(update={"decision": "blocked"})
    tags = {**evidence_tags(blocked), **signer(blocked, "hc", KEY)("3")}
    tags["ftlineage.decision"] = "pass"  # forged verdict over a genuinely signed digest
    ok, reason = verify(tags, "hc", "3", KEY)
    assert not ok
    assert "does not verify" in reason


def test_digest_covers_the_whole_decision():
    assert decision_digest(PASS) != decision_digest(
        PASS.model_copy(update={"lineage": {"prompt_sha": "q" * 64}})
    )
    assert signer(PASS, "hc", None) is None
