import json
import random
from pathlib import Path

import pytest

from ftlineage import audit, suites
from ftlineage.data import _healthcare, read_corpus
from ftlineage.recipe import AuditPolicy

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "recipes" / "data"


def _suite_prompts():
    s = suites.load("healthcare_v17")
    return [c["prompt"] for part in (s.heldout, s.drift, s.arena) for c in part]


@pytest.fixture(scope="module")
def demo_report():
    rows = read_corpus([DATA / "healthcare_postcall_train.jsonl"])
    return audit.run_audit(rows, _suite_prompts(), AuditPolicy(), seed=0, corpus_sha="0" * 64)


def test_every_planted_problem_is_found_in_the_demo_corpus(demo_report):
    report, kept = demo_report
    flagged = {f.id: set(f.flags) for f in report.flagged}
    planted = {"dup": "exact_duplicate", "near": "near_duplicate", "leak": "eval_leak",
               "sec": "secret", "pii": "pii_email"}
    for prefix, flag in planted.items():
        ids = [i for i in flagged if i.startswith(prefix + "-")]
        expected = {"dup": 20, "near": 15, "leak": 8, "sec": 2, "pii": 5}[prefix]
        assert sum(flag in flagged[i] for i in ids) == expected, prefix
    assert report.verdict == "pass"
    assert not any(r["id"].startswith(("leak-", "sec-")) for r in kept)
    kept_ids = {r["id"] for r in kept}
    groups: dict[str, list[str]] = {}
    for f in report.flagged:
        if "exact_duplicate" in f.details:
            groups.setdefault(f.details["exact_duplicate"], []).append(f.id)
    assert len(groups) == 20
    assert all(sum(i in kept_ids for i in g) <= 1 for g in groups.values())


def test_no_false_positive_leaks_or_secrets_on_generated_clean_rows():
    rows = _healthcare.make_rows(99, 300, prefix="c", source="s")
    report, kept = audit.run_audit(rows, _suite_prompts(), AuditPolicy(), seed=0, corpus_sha="x")
    assert report.counts.get("eval_leak", 0) == 0
    assert report.counts.get("secret", 0) == 0
    assert report.counts.get("exact_duplicate", 0) == 0


def test_secret_values_never_appear_in_clear(demo_report):
    report, _ = demo_report
    text = report.model_dump_json() + audit.render_markdown(report)
    for line in (DATA / "healthcare_postcall_train.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["id"].startswith("sec-"):
            key = row["prompt"].rsplit("key ", 1)[1].rstrip(".")
            assert key not in text
            assert key[4:] not in text


def test_contaminated_source_blocks_and_is_named():
    rows = read_corpus([DATA / "healthcare_postcall_train.jsonl", DATA / "vendor_batch_7.jsonl"])
    report, _ = audit.run_audit(rows, _suite_prompts(), AuditPolicy(), seed=0, corpus_sha="x")
    assert report.verdict == "blocked"
    assert report.contaminating_sources == ("vendor_batch_7",)
    assert any("vendor_batch_7" in r and "refusal" in r for r in report.reasons)


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("token ghp_" + "a1B2" * 9, "secret"),
        ("-----BEGIN RSA PRIVATE KEY-----", "secret"),
        ("db at postgres://admin:hunter22@db.internal:5432/x", "secret"),
        ("mail jo.doe@clinic.org today", "pii_email"),
        ("call (415) 555-0134 now", "pii_phone"),
    ],
)
def test_scanners_flag(text, flag):
    assert flag in {f.flag for f in audit.scan_text(text)}


@pytest.mark.parametrize(
    "text",
    ["commit 3f2a9c1be4d5f60718293a4b5c6d7e8f90a1b2c3", "version 1.2.3-rc1",
     "id 123e4567-e89b-12d3-a456-426614174000", "see https://docs.python.org/3/"],
)
def test_scanners_leave_benign_text_alone(text):
    assert audit.scan_text(text) == []


def test_near_duplicates_are_verified_not_just_lsh_candidates():
    rng = random.Random(0)
    base = " ".join(rng.choice("alpha beta gamma delta epsilon zeta eta theta".split())
                    for _ in range(80))
    edited = base.replace("gamma", "gamma!", 1)
    other = " ".join(reversed(base.split()))
    groups = audit.near_groups([base, edited, other], threshold=0.85, shingle_size=5,
                               num_perm=128, seed=1)
    assert groups == [[0, 1]]
