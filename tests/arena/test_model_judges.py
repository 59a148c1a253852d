"""Model judges against real backends: a loopback OpenAI-compatible server and a local HF model."""

import pytest

from ftlineage.arena import ArenaOptions, get_judge, run_arena
from ftlineage.errors import BadInputError

pytestmark = pytest.mark.integration
CASES = [{"id": str(i), "prompt": f"Caller: this is Ann {i}."} for i in range(8)]
CAND = ['{"patient_name": "Ann"}'] * 8
BASE = ["I do not know"] * 8


@pytest.fixture
def base_path(tiny_base):
    return tiny_base


@pytest.fixture
def server(chat_server):
    return chat_server


def _judge(url, **kw):
    return get_judge(
        "openai",
        base_url=url,
        model="tiny",
        family="tiny-judge",
        max_tokens=8,
        timeout=20,
        retries=2,
        backoff=0.05,
        **kw,
    )


def test_openai_judge_talks_to_a_real_model_server(server):
    _, url = server
    judge = _judge(url)
    reply = judge.backend.complete("Verdict:")
    assert isinstance(reply, str)  # a real generation came back over HTTP
    r = run_arena(CASES, CAND, BASE, judge, ArenaOptions(seed=1, candidate_family="llama", concurrency=4))
    assert r.n == 8
    assert r.judge == "openai"
    assert r.judge_calls == 8
    assert r.wins + r.losses + r.ties + r.unscored == 8
    # every pair was judged by the model: no transport failure reasons
    assert not any("attempts failed" in p.reason for p in r.pairs)


def test_killing_the_server_mid_run_leaves_unscored_pairs_and_a_finished_report(server):
    proc, url = server
    seen = []

    def kill_after_three(record):
        seen.append(record)
        if len(seen) == 3:
            proc.kill()
            proc.wait()

    r = run_arena(
        CASES,
        CAND,
        BASE,
        _judge(url),
        ArenaOptions(seed=1, candidate_family="llama", concurrency=1),
        on_judgement=kill_after_three,
    )
    failed = [p for p in r.pairs if "3 attempts failed" in p.reason]
    assert len(failed) == 5
    assert all(p.outcome == "unscored" for p in failed)
    assert r.unscored >= 5
    assert r.inconclusive
    assert r.losses + r.wins + r.ties + r.unscored == 8


def test_hf_judge_reads_its_family_from_the_model_config(base_path):
    judge = get_judge("hf", model=base_path, max_new_tokens=4)
    assert judge.family == "llama"
    with pytest.raises(BadInputError, match="same as the candidate"):
        run_arena(CASES[:2], CAND[:2], BASE[:2], judge, ArenaOptions(seed=0, candidate_family="llama"))
    r = run_arena(CASES[:2], CAND[:2], BASE[:2], judge, ArenaOptions(seed=0, candidate_family="mistral"))
    assert r.n == 2
    assert r.judge == "hf"


def test_llm_judge_scorer_grades_through_a_real_model_server(server, tmp_path, monkeypatch):
    """The llm_judge scorer against the loopback server of a real (tiny) model: a reply that names
    no 1-5 score is unscored (NaN), never 0; a reply that does is in [0, 1]."""
    import math

    from ftlineage.tasks import Case, ScorerSpec, build_scorer

    monkeypatch.setenv("FTLINEAGE_CACHE_DIR", str(tmp_path))
    _, url = server
    opts = {"base_url": url, "model": "tiny", "family": "tiny-judge", "max_tokens": 8, "timeout": 20}
    spec = ScorerSpec(name="llm_judge", options={"rubric": "Is it right?", "backend_options": opts})
    scorer = build_scorer(spec)
    value = scorer.score(Case(id="a", prompt="Caller: this is Ann.", reference="Ann"), "Ann")["llm_judge"]
    assert math.isnan(value) or 0.0 <= value <= 1.0
    assert scorer.calls == 1
