"""``llm_judge`` against OpenAI-compatible servers on loopback: scored, cached, unscored on failure."""

import math

import pytest

from ftlineage.tasks import Case, ScorerSpec, build_scorer
from ftlineage.testing.openai_server import scripted_openai

pytestmark = pytest.mark.integration


def _grade(prompt):
    answer = prompt.split("Answer:\n", 1)[1].split("\n\nThink", 1)[0]
    return "The answer matches.\nScore: 5" if "Paris" in answer else "Wrong city.\nScore: 1"


def _spec(url, **kw):
    opts = {"base_url": url, "model": "grader", "family": "test", "retries": 0, "timeout": 10}
    return ScorerSpec(
        name="llm_judge", options={"rubric": "Is the capital right?", "backend_options": opts, **kw}
    )


def test_scores_through_the_server_and_a_rerun_makes_zero_calls(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLINEAGE_CACHE_DIR", str(tmp_path))
    cases = [Case(id=str(i), prompt=f"Capital of France? ({i})", reference="Paris") for i in range(6)]
    outputs = ["Paris", "Lyon"] * 3
    with scripted_openai(_grade) as server:
        first = build_scorer(_spec(server.url))
        scores = [first.score(c, o)["llm_judge"] for c, o in zip(cases, outputs, strict=True)]
        assert scores == [1.0, 0.0] * 3
        assert server.calls == 6
        assert "Reference answer:\nParis" in server.prompts[0]
        again = build_scorer(_spec(server.url))
        again._cache, again._backend = None, None  # as a new process: only the cache file carries over
        rerun = [again.score(c, o)["llm_judge"] for c, o in zip(cases, outputs, strict=True)]
        assert rerun == scores
        assert server.calls == 6  # every score came from the cache


def test_an_unparsable_reply_or_a_dead_server_is_unscored_not_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLINEAGE_CACHE_DIR", str(tmp_path))
    case = Case(id="a", prompt="q", reference="r")
    with scripted_openai(lambda p: "I refuse to grade.") as server:
        assert math.isnan(build_scorer(_spec(server.url)).score(case, "x")["llm_judge"])
    dead = build_scorer(_spec("http://127.0.0.1:9/v1"))
    assert math.isnan(dead.score(case, "y")["llm_judge"])
