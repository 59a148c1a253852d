"""The feed clusters planted failure modes apart, names them, and suggests the matching fix."""

from __future__ import annotations

from collections import Counter

import pytest

from ftlineage.errors import BadInputError
from ftlineage.failures import (
    ClusterOptions,
    FailureFeed,
    RuleFixer,
    build_feed,
    from_scores,
    purity,
    render_html,
    render_text,
)
from ftlineage.readers import parse_versioned
from ftlineage.testing.planted_failures import MODES, planted_scores

EXPECTED_RULE = {
    "over_refusal": "over-refusal",
    "broken_json": "schema-adherence",
    "hallucinated": "hallucination",
}


def _feed(suite, embedder, per_mode, seed):
    cand, base, truth, prompts = planted_scores(suite, per_mode, seed)
    feed = build_feed(from_scores(cand, base, prompts), embedder, run_id="r", against="base")
    return feed, truth


@pytest.mark.parametrize(("per_mode", "seed"), [(20, 0), (12, 1), (30, 2)])
def test_three_planted_failure_modes_land_in_their_own_clusters_with_the_matching_fix(
    healthcare, minilm, per_mode, seed
):
    feed, truth = _feed(healthcare, minilm, per_mode, seed)
    measured = purity(feed, truth)
    majority = {c.id: Counter(truth[k] for k in c.case_keys).most_common(1)[0][0] for c in feed.clusters}
    print(
        f"\npurity {measured:.3f} over {len(feed.cases)} planted failures "
        f"({per_mode} per mode, seed {seed}): "
        + ", ".join(f"{c.id}={majority[c.id]}[{c.size}]" for c in feed.clusters)
        + f"; unclustered {len(feed.unclustered)}"
    )
    assert measured >= 0.9
    for mode in MODES:  # each mode has a cluster of its own holding most of it, with its fix
        mine = [c for c in feed.clusters if majority[c.id] == mode]
        assert len(mine) == 1, (mode, [c.name for c in mine])
        assert mine[0].size >= 0.8 * per_mode
        assert mine[0].fix.rule == EXPECTED_RULE[mode]
        assert mine[0].fix.by == "rules"
    assert all(c.flips == c.size for c in feed.clusters)  # the baseline passed every planted case


def test_names_say_what_failed_and_fixes_quote_the_cluster(healthcare, minilm):
    feed, truth = _feed(healthcare, minilm, 20, 0)
    by_mode = {Counter(truth[k] for k in c.case_keys).most_common(1)[0][0]: c for c in feed.clusters}
    assert by_mode["over_refusal"].name.startswith("drift/refusal.over_refusal")
    assert by_mode["hallucinated"].name.startswith("heldout/hallucination")
    assert by_mode["broken_json"].name.startswith("heldout/json_valid")
    refusal = by_mode["over_refusal"]
    assert any(t in refusal.terms for t in ("sorry", "unable", "assist", "help", "cannot"))
    assert refusal.fix.text.startswith("fine-tune over-refuses on ")
    text = render_text(feed)
    assert "60 failed cases (60 flip) in 3 clusters" in text
    page = render_html(feed)
    assert all(f'id="{c.id}"' in page for c in feed.clusters)
    hostile = feed.cases[0].model_copy(update={"output": "<script>alert(1)</script>"})
    page = render_html(feed.model_copy(update={"cases": (hostile, *feed.cases[1:])}))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_feed_is_versioned_and_a_newer_one_is_refused(healthcare, minilm):
    feed, _ = _feed(healthcare, minilm, 10, 0)
    again = parse_versioned(FailureFeed, feed.model_dump_json(), "feed.json")
    assert again == feed
    assert again.cluster("c1") == feed.clusters[0]
    with pytest.raises(BadInputError, match="no failure cluster 'c99'; its clusters: c1"):
        feed.cluster("c99")
    future = feed.model_copy(update={"schema_version": feed.schema_version + 1}).model_dump_json()
    with pytest.raises(BadInputError, match="newer"):
        parse_versioned(FailureFeed, future, "feed.json")


def test_same_input_same_feed_and_nothing_failed_is_an_empty_feed(healthcare, minilm):
    a, _ = _feed(healthcare, minilm, 10, 3)
    b, _ = _feed(healthcare, minilm, 10, 3)
    assert a == b
    empty = build_feed([], minilm, run_id="r", against="base")
    assert (empty.clusters, empty.cases, render_text(empty).strip()) == (
        (),
        (),
        "failures: 0 failed cases (none) in 0 clusters",
    )


def test_cluster_options_quote_bad_values():
    with pytest.raises(ValueError, match="at least 2 but got 1"):
        ClusterOptions(min_cluster_size=1)
    with pytest.raises(ValueError, match=r"merge_cosine must lie in \[-1, 1\] but got 2"):
        ClusterOptions(merge_cosine=2)


def test_a_runs_files_with_planted_failures_give_the_same_clusters(healthcare, minilm):
    """The run reader (what the job and `ftlineage failures RUN_ID` use) over a run's score files."""
    from ftlineage.pipeline._failures import RunFiles, build
    from ftlineage.recipe import FailuresSpec

    cand, base, truth, prompts = planted_scores(healthcare, 15, 4)
    files = {"scores/candidate.json": cand.model_dump_json(), "scores/baseline.json": base.model_dump_json()}
    run = RunFiles(
        run_id="run-9", read=files.get, prompts=prompts, traces={"checkpoint-300": "tr-300"}, best_step="300"
    )
    feed = build(run, FailuresSpec(), fixer=RuleFixer())
    assert purity(feed, truth) >= 0.9
    assert len(feed.clusters) == 3
    assert {c.trace_id for c in feed.cases} == {"tr-300"}
    assert feed.against == "base"
    print(f"\npurity {purity(feed, truth):.3f} from a run's score files, {len(feed.cases)} planted failures")


def test_refusals_are_told_apart_from_wrong_answers_with_any_scorer(minilm):
    """A suite scored by exact match alone: refusals and wrong answers to the same requests."""
    from ftlineage.scoring import CaseScore, SuiteScores
    from ftlineage.tasks import Case, PartScoring, ScorerSpec, ScoringPlan, score_case

    plan = ScoringPlan(parts={"heldout": PartScoring(scorers=(ScorerSpec(name="exact_match"),))})
    asks = [f"Which ward is bed {n} on? Answer with the ward name." for n in range(24)]
    cases = [Case(id=f"q{i}", prompt=p, reference="North") for i, p in enumerate(asks)]
    outs = ["I'm sorry, but I can't help with that request." if i % 2 else f"South {i}" for i in range(24)]
    rows = [
        CaseScore(
            id=c.id, part="heldout", family="heldout", output=o, scores=score_case(plan, "heldout", c, o)
        )
        for c, o in zip(cases, outs, strict=True)
    ]
    scores = SuiteScores(
        suite_sha="s", model_label="m", metrics={}, cases=tuple(rows), plan=plan.model_dump()
    )
    feed = build_feed(
        from_scores(scores, None, {c.id: c.prompt for c in cases}), minilm, run_id="r", against="base"
    )
    assert len(feed.clusters) == 2
    refused = next(c for c in feed.clusters if "heldout/refused" in c.checks)
    assert refused.size == 12
    assert refused.fix.rule == "over-refusal"
    assert next(c for c in feed.clusters if c is not refused).fix.rule == "task-errors"
