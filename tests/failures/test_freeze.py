"""Freezing a failure cluster: appended to a regression part under the extend-only lock, then gated."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest
import yaml

from ftlineage import suites
from ftlineage.errors import SuiteError
from ftlineage.failures import build_feed, freeze_cluster, from_audit, from_scores
from ftlineage.testing.planted_failures import planted_scores


@pytest.fixture
def own_suite(tmp_path):
    """A copy of healthcare_v17 under its own name (a shipped name and version cannot change)."""
    path = tmp_path / "my_suite"
    shutil.copytree(suites.bundled_root() / "healthcare_v17", path)
    meta = yaml.safe_load((path / "suite.yaml").read_text())
    (path / "suite.yaml").write_text(
        yaml.safe_dump({**meta, "name": "clinic_regress", "version": 1}, sort_keys=False)
    )
    suites.write_lock(path)
    return path


@pytest.fixture
def planted_feed(healthcare, minilm):
    cand, base, truth, prompts = planted_scores(healthcare, 12, 0)
    feed = build_feed(from_scores(cand, base, prompts), minilm, run_id="run-1", against="base")
    mode = {c.id: Counter(truth[k] for k in c.case_keys).most_common(1)[0][0] for c in feed.clusters}
    return feed, {m: cid for cid, m in mode.items()}


def test_a_frozen_cluster_is_appended_to_the_lock_and_gated(own_suite, planted_feed, healthcare):
    feed, cluster_of = planted_feed
    cluster = feed.cluster(cluster_of["hallucinated"])
    result = freeze_cluster(feed, cluster.id, own_suite, run_suite=healthcare)
    assert len(result.added) == cluster.size
    lock = json.loads((own_suite / "suite.lock").read_text())
    assert set(lock["cases"]["regression.jsonl"]) == set(result.added)
    assert (
        lock["cases"]["heldout.jsonl"]
        == json.loads((suites.bundled_root() / "healthcare_v17" / "suite.lock").read_text())["cases"][
            "heldout.jsonl"
        ]
    )
    loaded = suites.load(str(own_suite))
    frozen = loaded.cases("regression")
    original = {c.id: c for c in healthcare.heldout}
    for case in frozen:  # the original case, reference and all, under a new id
        assert case.reference == original[case.id.removeprefix("frozen-")].reference
        assert f"failure-cluster:{cluster.id}" in case.tags
    assert loaded.spec("regression").scorers == healthcare.spec("heldout").scorers
    gated = {m.metric for m in loaded.gate_metrics()}
    assert {"regression/field_accuracy", "regression/json_valid"} <= gated
    assert loaded.sha == result.suite_sha != suites.load("healthcare_v17").sha


def test_editing_or_removing_a_frozen_case_is_refused(own_suite, planted_feed, healthcare):
    feed, cluster_of = planted_feed
    freeze_cluster(feed, cluster_of["broken_json"], own_suite, run_suite=healthcare)
    part = own_suite / "regression.jsonl"
    lines = part.read_text().splitlines()
    edited = json.loads(lines[0]) | {"reference": "{}"}
    part.write_text("\n".join([json.dumps(edited, sort_keys=True), *lines[1:]]) + "\n")
    with pytest.raises(SuiteError, match="regression.jsonl: sha256 .* does not match the lock"):
        suites.load(str(own_suite))
    with pytest.raises(SuiteError, match=r"case 'frozen-.*' in regression.jsonl changed .* extend-only"):
        suites.write_lock(own_suite)
    part.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(SuiteError, match=r"case 'frozen-.*' was removed from regression.jsonl"):
        suites.write_lock(own_suite)


def test_freezing_twice_adds_nothing_and_a_failed_freeze_leaves_the_suite_as_it_was(
    own_suite, planted_feed, healthcare
):
    feed, cluster_of = planted_feed
    freeze_cluster(feed, cluster_of["hallucinated"], own_suite, run_suite=healthcare)
    before = {p.name: p.read_bytes() for p in own_suite.iterdir()}
    with pytest.raises(SuiteError, match="nothing to freeze .* already frozen"):
        freeze_cluster(feed, cluster_of["hallucinated"], own_suite, run_suite=healthcare)
    # drift cases are scored by families, not by the held-out scorers the part now has
    with pytest.raises(
        SuiteError, match="scored differently from 'regression'; freeze it into --part regression_drift"
    ):
        freeze_cluster(feed, cluster_of["over_refusal"], own_suite, run_suite=healthcare)
    assert {p.name: p.read_bytes() for p in own_suite.iterdir()} == before


def test_bundled_suites_audit_rows_and_bad_parts_are_refused(tmp_path, own_suite, planted_feed, minilm):
    feed, cluster_of = planted_feed
    with pytest.raises(SuiteError, match="a bundled suite cannot be extended"):
        freeze_cluster(feed, "c1", suites.bundled_root() / "healthcare_v17")
    copy = tmp_path / "copy"
    shutil.copytree(suites.bundled_root() / "healthcare_v17", copy)
    with pytest.raises(SuiteError, match=r"is a version ftlineage ships.*name: healthcare_v17_regression"):
        freeze_cluster(feed, "c1", copy)
    with pytest.raises(SuiteError, match="'regression' or 'regression_<name>'"):
        freeze_cluster(feed, "c1", copy, part="heldout")
    rows = [
        {
            "id": f"v{i}",
            "source": "vendor",
            "reasons": ["refusal_contamination"],
            "prompt": "p",
            "completion": "I'm sorry, I can't help.",
        }
        for i in range(4)
    ]
    audit = build_feed(from_audit(rows), minilm, run_id="r", against="base")
    with pytest.raises(SuiteError, match="a training row the audit flagged, not a model failure"):
        freeze_cluster(audit, "c1", own_suite)


@pytest.mark.integration
def test_every_checkpoint_scores_the_regression_part(
    own_suite, planted_feed, healthcare, tiny_recipe, model_cache
):
    from ftlineage.models import load_model, resolve_base
    from ftlineage.recipe import load_recipe
    from ftlineage.training import evaluate_model

    feed, cluster_of = planted_feed
    freeze_cluster(feed, cluster_of["hallucinated"], own_suite, run_suite=healthcare)
    suite = suites.load(str(own_suite))
    recipe = load_recipe(tiny_recipe)
    model, tok = load_model(resolve_base(recipe.base_model, model_cache, progress=False))
    metrics, cases = evaluate_model(model, tok, suite, recipe.prompt_template, limit=1, drift_limit=1)
    frozen = [c for c in cases if c.part == "regression"]
    assert len(frozen) == len(suite.cases("regression"))
    assert "regression/field_accuracy" in metrics
