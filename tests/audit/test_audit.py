import json

from ftlineage import audit
from ftlineage.tasks.healthcare import _data as _healthcare

from .conftest import DATA, FAST, run


def test_every_planted_problem_is_found_in_the_demo_corpus(tmp_path):
    result, flags, clean = run([DATA / "healthcare_postcall_train.jsonl"], tmp_path)
    planted = {
        "dup": ("exact_duplicate", 20),
        "near": ("near_duplicate", 15),
        "leak": ("eval_leak", 8),
        "sec": ("secret", 2),
        "pii": ("pii_email", 5),
    }
    for prefix, (flag, expected) in planted.items():
        ids = [i for i in flags if i.startswith(prefix + "-")]
        assert sum(flag in flags[i]["flags"] for i in ids) == expected, prefix
    assert result.report.verdict == "pass"
    assert not any(i.startswith(("leak-", "sec-")) for i in clean)
    groups: dict[str, list[str]] = {}
    for i, e in flags.items():
        if "exact_duplicate" in e["flags"]:
            groups.setdefault(e["group"], []).append(i)
    assert len(groups) == 20
    assert all(sum(i in clean for i in g) == 1 for g in groups.values())


def test_no_false_positive_leaks_or_secrets_on_generated_clean_rows(tmp_path):
    path = tmp_path / "clean.jsonl"
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in _healthcare.make_rows(99, 300, prefix="c", source="s"))
    )
    result, _, clean = run([path], tmp_path / "out")
    for flag in (
        "eval_leak",
        "secret",
        "exact_duplicate",
        "prompt_injection",
        "malicious_url",
        "code_injection",
    ):
        assert result.report.counts[flag] == 0, flag
    assert len(clean) == 300


def test_secret_values_never_appear_in_clear_in_any_output(tmp_path):
    run([DATA / "healthcare_postcall_train.jsonl"], tmp_path)
    text = "".join(p.read_text() for p in tmp_path.iterdir() if p.name != "clean.jsonl")
    for line in (DATA / "healthcare_postcall_train.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["id"].startswith("sec-"):
            key = row["prompt"].rsplit("key ", 1)[1].rstrip(".")
            assert key not in text
            assert key[4:] not in text


def test_contaminated_source_blocks_and_is_named(tmp_path):
    result, _, _ = run([DATA / "healthcare_postcall_train.jsonl", DATA / "vendor_batch_7.jsonl"], tmp_path)
    assert result.report.verdict == "blocked"
    assert result.report.contaminating_sources == ("vendor_batch_7",)
    assert any("vendor_batch_7" in r and "refusal" in r for r in result.report.reasons)


def test_a_declared_safety_source_is_not_contamination(tmp_path):
    """The bundled safety set refuses half its rows on purpose: declared, it passes; not, it blocks."""
    paths = [DATA / "healthcare_postcall_train.jsonl", DATA / "safety_refusals.jsonl"]
    blocked, _, _ = run(paths, tmp_path / "plain")
    assert blocked.report.contaminating_sources == ("safety_refusals",)
    assert any("audit.safety_sources" in r for r in blocked.report.reasons)
    policy = FAST.model_copy(update={"safety_sources": ("safety_refusals",)})
    result, flags, clean = run(paths, tmp_path / "declared", policy=policy)
    assert result.report.verdict == "pass"
    assert result.report.contaminating_sources == ()
    assert result.report.sources["safety_refusals"].refusal_rate == 0.5
    assert sum(i.startswith("safety-") for i in clean) == 120  # every turn scanned, none dropped
    assert "| safety_refusals (safety data) |" in (tmp_path / "declared" / "report.md").read_text()
    # a real contaminating vendor batch is still caught beside a declared safety set
    with_vendor = [*paths, DATA / "vendor_batch_7.jsonl"]
    mixed, _, _ = run(with_vendor, tmp_path / "mixed", policy=policy)
    assert mixed.report.contaminating_sources == ("vendor_batch_7",)


def test_a_safety_source_no_row_has_is_a_finding(tmp_path):
    policy = FAST.model_copy(update={"safety_sources": ("safty_refusals",)})
    result, _, _ = run([DATA / "healthcare_postcall_train.jsonl"], tmp_path, policy=policy)
    assert any("'safty_refusals'" in f and "'clinic_a_calls'" in f for f in result.report.findings)


def test_report_html_has_tables_and_embedded_plots(tmp_path):
    run([DATA / "healthcare_postcall_train.jsonl"], tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "Per source" in page
    assert "clinic_a_calls" in page
    assert "exact_duplicate" in page


def test_label_conflicts_skew_and_label_noise(tmp_path):
    rows = [
        {"prompt": f"case {i}", "completion": f"answer {i}", "label": "a" if i % 20 else "b"}
        for i in range(120)
    ]
    rows.append({"prompt": "CASE 5", "completion": "other answer", "label": "b"})
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result, flags, _ = run([path], tmp_path / "out", suite={})
    assert {i for i, e in flags.items() if "label_conflict" in e["flags"]} == {"c-6", "c-121"}
    assert any("label skew" in f for f in result.report.findings)
    files = audit.write_outputs(result, tmp_path / "sample", label_sample=40)
    sample = files["label_sample.csv"].read_text().splitlines()
    assert len(sample) == 41
    filled = [sample[0]] + [ln[: ln.rindex(",")] + ",a" for ln in sample[1:]]
    (tmp_path / "relabel.csv").write_text("\n".join(filled) + "\n")
    noise = audit.read_relabels(tmp_path / "relabel.csv")
    assert noise.sample_size == 40
    assert noise.agreement < 1.0


def test_cohen_kappa_matches_the_textbook_example():
    # 50 items: both yes 20, both no 15, a-yes/b-no 5, a-no/b-yes 10 -> po 0.7, kappa 0.4
    a = ["y"] * 20 + ["n"] * 15 + ["y"] * 5 + ["n"] * 10
    b = ["y"] * 20 + ["n"] * 15 + ["n"] * 5 + ["y"] * 10
    po, kappa = audit.cohen_kappa(a, b)
    assert round(po, 3) == 0.7
    assert round(kappa, 3) == 0.4
