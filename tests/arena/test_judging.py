import json
import time

import pytest

from ftlineage.arena import (
    ArenaOptions,
    RubricJudge,
    VerdictCache,
    available_judges,
    get_judge,
    parse_pick,
    run_arena,
)
from ftlineage.errors import BadInputError
from ftlineage.testing import ScriptedJudge

CASES = [{"id": str(i), "prompt": f"case {i}"} for i in range(60)]
CAND = [f"candidate answer {i}" for i in range(60)]
BASE = [f"base {i}" for i in range(60)]


Scripted = ScriptedJudge  # the shipped fake: picks by a rule, counts its calls


def _opts(**kw):
    return ArenaOptions(seed=7, candidate_family="llama", **kw)


def test_judges_are_found_through_entry_points_and_unknown_names_list_them():
    assert {"rubric", "openai", "hf", "deepeval", "scripted"} <= set(available_judges())
    assert get_judge("scripted", pick="tie").judge("p", "a", "b").pick == "tie"
    from ftlineage.suites import load

    assert isinstance(get_judge("rubric", suite=load("healthcare_v17"), margin=0.1), RubricJudge)
    with pytest.raises(BadInputError, match="arena scorers; pass --suite"):
        get_judge("rubric")
    with pytest.raises(BadInputError, match="valid judges are deepeval, hf, openai, rubric, scripted"):
        get_judge("gpt4")
    with pytest.raises(BadInputError, match="does not accept options"):
        get_judge("rubric", suite=load("healthcare_v17"), temperature=0)


def test_position_biased_judge_is_exposed_by_both_orders():
    biased = Scripted(lambda p, a, b: "first")
    single = run_arena(CASES, CAND, BASE, biased, _opts())
    assert single.position_bias == 1.0
    assert single.ties == 0
    assert single.wins + single.losses == 60
    both = run_arena(CASES, CAND, BASE, Scripted(lambda p, a, b: "first"), _opts(both_orders=True))
    assert both.ties == 60
    assert both.wins == both.losses == 0
    assert both.position_bias == 1.0
    assert both.judge_calls == 120


def test_fair_judge_keeps_its_verdicts_under_both_orders():
    fair = Scripted(lambda p, a, b: "first" if a.startswith("candidate") else "second")
    r = run_arena(CASES, CAND, BASE, fair, _opts(both_orders=True))
    assert (r.wins, r.losses, r.ties) == (60, 0, 0)
    assert r.position_bias == pytest.approx(0.5)


def test_unscored_is_excluded_never_a_loss_and_too_many_make_it_inconclusive():
    flaky = Scripted(
        lambda p, a, b: (
            "unscored"
            if p.endswith(("1", "2", "3", "4"))
            else ("first" if a.startswith("candidate") else "second")
        )
    )
    r = run_arena(CASES, CAND, BASE, flaky, _opts())
    assert r.losses == 0
    assert r.unscored == 24
    assert r.wins == 36
    assert r.inconclusive
    assert any("inconclusive" in w for w in r.warnings)


def test_warm_cache_makes_zero_calls_and_any_key_part_change_misses(tmp_path):
    rule = lambda p, a, b: "first" if a.startswith("candidate") else "second"  # noqa: E731
    cache = VerdictCache(tmp_path / "v.sqlite")
    cold = Scripted(rule)
    first = run_arena(CASES, CAND, BASE, cold, _opts(), cache=cache)
    warm = Scripted(rule)
    second = run_arena(CASES, CAND, BASE, warm, _opts(), cache=cache)
    assert (cold.calls, warm.calls, second.cache_hits) == (60, 0, 60)
    assert second.model_dump(exclude={"cache_hits", "judge_calls"}) == first.model_dump(
        exclude={"cache_hits", "judge_calls"}
    )
    changed = Scripted(rule, params={"p": 2})
    run_arena(CASES, CAND, BASE, changed, _opts(), cache=cache)
    assert changed.calls == 60
    other_input = Scripted(rule)
    run_arena(CASES, [c + "!" for c in CAND], BASE, other_input, _opts(), cache=cache)
    assert other_input.calls == 60


def test_same_family_needs_an_explicit_override_that_the_report_states():
    same = Scripted(lambda p, a, b: "tie")
    same.family = "Llama"
    with pytest.raises(BadInputError, match="same as the candidate"):
        run_arena(CASES, CAND, BASE, same, _opts())
    r = run_arena(CASES, CAND, BASE, same, _opts(allow_same_family=True))
    assert r.warnings[0].startswith("OVERRIDE")


def test_small_runs_are_warned_and_lengths_reported():
    fair = Scripted(lambda p, a, b: "first" if a.startswith("candidate") else "second")
    r = run_arena(CASES[:20], CAND[:20], BASE[:20], fair, _opts())
    assert any("fewer than the 194 needed" in w for w in r.warnings)
    assert r.length["longer_wins_rate"] == 1.0  # every candidate answer is longer and won


def test_concurrency_overlaps_slow_judge_calls():
    def slow(p, a, b):
        time.sleep(0.05)
        return "tie"

    start = time.perf_counter()
    run_arena(CASES, CAND, BASE, Scripted(slow), _opts(concurrency=10))
    assert time.perf_counter() - start < 60 * 0.05 / 2


@pytest.mark.parametrize(
    ("reply", "pick"),
    [
        ("Verdict: FIRST", "first"),
        ("verdict - second.", "second"),
        ("**Verdict:** tie", "tie"),
        ("The first one.", "first"),
        ("first or second?", None),
        ("{}", None),
    ],
)
def test_parse_pick(reply, pick):
    assert parse_pick(reply) == pick


def test_deepeval_arena_geval_runs_offline_through_our_backend(monkeypatch):
    pytest.importorskip("deepeval")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    class PicksValidJson:
        """Reads deepeval's masked contestants and names the one whose output is valid JSON."""

        family, params = "scripted", {"model": "picks-valid-json"}

        def complete(self, prompt):
            if "rewritten_reason" in prompt or "Rewrite" in prompt:
                return json.dumps({"rewritten_reason": "valid JSON wins"})
            block = json.loads(
                prompt[prompt.index("{", prompt.index("Contestants:")) : prompt.index("\n}\n") + 2]
            )
            for name, fields in block["arena_test_cases"].items():
                try:
                    json.loads(json.loads(fields)["actual_output"])
                    return json.dumps({"winner": name, "reason": f"${name}$ is valid JSON"})
                except json.JSONDecodeError:
                    continue
            return "no idea"

    judge = get_judge("deepeval", backend=PicksValidJson())
    assert judge.judge("p", '{"a": 1}', "not json").pick == "first"
    assert judge.judge("p", "not json", '{"a": 1}').pick == "second"
    assert judge.judge("p", "nope", "nah").pick == "unscored"


def _tamper(path, sql):
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute(sql)


@pytest.mark.parametrize("secret", [None, b"gate-key"])
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE verdicts SET pick = CASE pick WHEN 'first' THEN 'second' ELSE 'first' END",  # flipped
        "UPDATE verdicts SET pick = 'garbage'",
        "UPDATE verdicts SET pick = NULL",
        "UPDATE verdicts SET seal = NULL",
        "UPDATE verdicts SET reason = 'edited'",
    ],
)
def test_a_tampered_cache_is_a_miss_never_a_vote(tmp_path, sql, secret):
    """An arena of 0/0/12 edited in the cache must not turn into 12/0/0."""
    base_wins = lambda p, a, b: "second" if a.startswith("candidate") else "first"  # noqa: E731
    cache = VerdictCache(tmp_path / "v.sqlite", secret)
    honest = run_arena(CASES, CAND, BASE, Scripted(base_wins), _opts(), cache=cache)
    assert honest.wins == 0
    _tamper(tmp_path / "v.sqlite", sql)
    rerun_cache = VerdictCache(tmp_path / "v.sqlite", secret)
    judge = Scripted(base_wins)
    rerun = run_arena(CASES, CAND, BASE, judge, _opts(), cache=rerun_cache)
    assert judge.calls == len(CASES)  # every tampered entry was judged again
    assert (rerun.wins, rerun.losses) == (honest.wins, honest.losses)
    assert any("integrity check" in w for w in rerun.warnings)
    again = run_arena(CASES, CAND, BASE, Scripted(base_wins), _opts(), cache=rerun_cache)
    assert again.cache_hits == len(CASES)  # rewritten entries are good again


def test_entries_sealed_without_the_key_are_not_trusted_with_it(tmp_path):
    rule = lambda p, a, b: "first"  # noqa: E731
    run_arena(CASES, CAND, BASE, Scripted(rule), _opts(), cache=VerdictCache(tmp_path / "v.sqlite"))
    judge = Scripted(rule)
    run_arena(CASES, CAND, BASE, judge, _opts(), cache=VerdictCache(tmp_path / "v.sqlite", b"key"))
    assert judge.calls == len(CASES)


def test_a_judge_returning_an_invalid_pick_is_unscored_not_decisive():
    result = run_arena(CASES, CAND, BASE, Scripted(lambda p, a, b: "garbage"), _opts())
    assert (result.wins, result.losses, result.ties) == (0, 0, 0)
    assert result.unscored == len(CASES)


def _length_arena(cand_len, base_len, rule):
    cases = [{"id": str(i), "prompt": f"case {i}"} for i in range(80)]
    cand = [f"candidate {i} " + "x" * cand_len(i) for i in range(80)]
    base = [f"base {i} " + "x" * base_len(i) for i in range(80)]
    return run_arena(cases, cand, base, Scripted(rule), _opts())


def test_the_arena_warns_when_longer_answers_win_far_above_chance():
    longer_wins = lambda p, a, b: "first" if len(a) >= len(b) else "second"  # noqa: E731
    result = _length_arena(lambda i: 60 + i % 7, lambda i: 20 + i % 5, longer_wins)
    assert result.length["longer_wins_rate"] == 1.0
    assert any("longer answers won 100.0%" in w for w in result.warnings), result.warnings
    assert result.length["length_controlled_win_rate"] < result.win_rate


def test_no_length_warning_on_a_length_neutral_comparison():
    import random

    rng = random.Random(3)
    lengths = {i: (rng.randint(10, 90), rng.randint(10, 90)) for i in range(80)}
    wins = {f"case {i}": rng.random() < 0.6 for i in range(80)}  # quality, not length, decides
    rule = lambda p, a, b: ("first" if a.startswith("candidate") else "second") if wins[p] else (  # noqa: E731
        "second" if a.startswith("candidate") else "first"
    )
    result = _length_arena(lambda i: lengths[i][0], lambda i: lengths[i][1], rule)
    assert 0.3 < result.length["longer_wins_rate"] < 0.7
    assert not any("longer answers" in w for w in result.warnings), result.warnings
    assert abs(result.length["length_controlled_win_rate"] - result.win_rate) < 0.1
