import json
import math
import random

import pytest

from ftlineage import suites
from ftlineage.arena import rubric_judge
from ftlineage.canary import (
    MeanSequence,
    Monitor,
    MonitorPolicy,
    PairObservation,
    Router,
    judge_pair,
    read_traffic,
    replay,
    simulate_traffic,
)
from ftlineage.canary._study import alarm_study
from ftlineage.errors import BadInputError
from ftlineage.suites import load as load_suite
from ftlineage.testing import ScriptedJudge

SUITE = suites.load("healthcare_v17")

JUDGE = rubric_judge(suite=load_suite("healthcare_v17"))


def test_routing_is_sticky_and_splits_the_asked_share():
    router = Router(split=0.1, shadow=0.2, seed=1)
    routes = [router.route(f"user-{i}") for i in range(20_000)]
    assert routes[:50] == [router.route(f"user-{i}") for i in range(50)]  # same key, same arm
    share = sum(r.arm == "challenger" for r in routes) / len(routes)
    shadow = sum(r.shadow for r in routes) / len(routes)
    assert 0.09 < share < 0.11
    assert 0.19 < shadow < 0.21
    router.split = 0.0
    assert all(router.route(f"user-{i}").arm == "champion" for i in range(2000))
    with pytest.raises(ValueError, match="split must lie in"):
        Router(split=1.5)


def test_the_confidence_sequence_covers_the_mean_at_all_times():
    rng = random.Random(0)
    misses = 0
    for _ in range(200):
        seq = MeanSequence(0.0, 1.0, alpha=0.05, horizon=200)
        for _ in range(400):
            seq.add(float(rng.random() < 0.3))
            low, high = seq.interval()
            if not low <= 0.3 <= high:
                misses += 1
                break
    assert misses / 200 <= 0.05
    seq = MeanSequence(0.0, 1.0)
    widths = []
    for n in (10, 100, 1000):
        while seq.n < n:
            seq.add(0.5)
        widths.append(seq.interval()[1] - seq.interval()[0])
    assert widths[0] > widths[1] > widths[2]


def test_an_equal_challenger_raises_no_alarm_in_200_seeded_runs_and_a_degraded_one_is_caught():
    study = alarm_study(runs=200, requests=1500, fault=0.4, base_fault=0.1, split=0.1, shadow=0.2)
    print("\n" + study.render())
    assert study.false_alarm_rate <= 0.05
    assert study.detected == 200
    assert max(study.delay_pairs) <= 400  # rolled back within a bounded number of pairs


def test_a_planted_fault_is_rolled_back_and_traffic_leaves_the_challenger():
    records = simulate_traffic(SUITE, 3000, seed=7, champion_faults=0.05, challenger_faults=0.5)
    router = Router(split=0.1, shadow=0.2, seed=7)
    result = replay(records, router, JUDGE)
    assert result.rollback_at_request is not None
    assert "win rate" in result.alarm or "dropped" in result.alarm
    assert router.split == 0.0
    later = records[result.rollback_at_request :]
    assert result.served["challenger"] <= result.rollback_at_request  # nothing after the rollback
    assert all(router.route(r["key"]).arm == "champion" for r in later)


def test_challenger_errors_fall_back_and_judge_outages_stay_unscored():
    records = simulate_traffic(SUITE, 600, seed=3, champion_faults=0.1, challenger_faults=0.1, errors=0.5)
    result = replay(records, Router(split=0.5, shadow=0.5, seed=3), JUDGE)
    assert result.fallbacks > 0
    assert result.served["champion"] + result.served["challenger"] == 600
    assert result.status.unscored > 0  # missing challenger answers: unscored pairs
    assert result.rollback_at_request is None

    down_judge = ScriptedJudge(lambda p, a, b: "unscored")  # a judge that times out on every pair
    down = replay(
        simulate_traffic(SUITE, 400, seed=4, champion_faults=0.0, challenger_faults=0.9),
        Router(split=0.5, shadow=1.0, seed=4),
        down_judge,
    )
    assert down.status.unscored == down.pairs
    assert math.isnan(down.status.win_rate)


def test_judge_pair_randomizes_positions_and_scores_rubrics():
    case = SUITE.heldout[0]
    good, bad = case.reference, "not json"
    firsts = set()
    for i in range(20):
        obs = judge_pair(JUDGE, f"k{i}", case.prompt, bad, good)
        assert obs.outcome == "win"  # the challenger's answer is better wherever it was shown
        firsts.add(obs.challenger["json_valid"])
    assert firsts == {100.0}
    assert judge_pair(JUDGE, "k", case.prompt, good, None).outcome == "unscored"


def test_a_sustained_rubric_drop_alarms():
    mon = Monitor(MonitorPolicy(sustain=2))
    obs = PairObservation(
        key="k", outcome="tie", champion={"json_valid": 100.0}, challenger={"json_valid": 0.0}
    )
    statuses = [mon.observe(obs) for _ in range(40)]
    first = next(i for i, s in enumerate(statuses) if s.alarm)
    assert "json_valid dropped 100.0 points" in statuses[first].alarm
    assert statuses[first + 1].rollback
    assert not statuses[first].rollback


def test_bad_traffic_files_name_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"key": "a", "prompt": "p", "champion": "x", "challenger": "y"}) + "\n{oops\n")
    with pytest.raises(BadInputError, match=r"t.jsonl:2: not JSON"):
        read_traffic(path)
    path.write_text(json.dumps({"prompt": "p"}) + "\n")
    with pytest.raises(BadInputError, match=r"t.jsonl:1: a record needs string fields 'key'"):
        read_traffic(path)


def test_replay_cli_exit_codes(tmp_path, capsys):
    from ftlineage.cli import main

    bad = tmp_path / "bad.jsonl"
    rows = simulate_traffic(SUITE, 3000, seed=1, champion_faults=0.05, challenger_faults=0.6)
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert (
        main(["canary", "replay", str(bad), "--suite", "healthcare_v17", "--out", str(tmp_path / "r.json")])
        == 4
    )
    assert "ROLLBACK at request" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["rollback_at_request"] > 0
    good = tmp_path / "good.jsonl"
    rows = simulate_traffic(SUITE, 800, seed=1, champion_faults=0.1, challenger_faults=0.1)
    good.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["canary", "replay", str(good), "--suite", "healthcare_v17"]) == 0
    assert main(["canary", "replay", str(tmp_path / "missing.jsonl")]) == 2
