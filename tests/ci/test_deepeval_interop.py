"""deepeval metrics offline through our model wrapper: no network, no key."""

import json
import socket

import pytest

deepeval = pytest.importorskip("deepeval")

from ftlineage.interop.deepeval import as_metric, as_scorer, offline_model, suite_scorer  # noqa: E402


@pytest.fixture
def offline(monkeypatch):
    """No OpenAI key, and any non-loopback connection attempt fails the test."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    real = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"network access to {address}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


class GradesJsonOutputs:
    """A backend that answers GEval: 9/10 when the output is valid JSON, else 2/10."""

    family, params = "scripted", {"model": "grades-json"}

    def __init__(self):
        self.prompts = []

    def complete(self, prompt):
        self.prompts.append(prompt)
        output = prompt.split("Actual Output:", 1)[1] if "Actual Output:" in prompt else ""
        good = "{" in output and '"patient_name"' in output
        return json.dumps({"score": 9 if good else 2, "reason": "valid JSON" if good else "not JSON"})


def test_geval_runs_offline_through_our_wrapper(offline):
    from deepeval.metrics import GEval
    from deepeval.test_case import SingleTurnParams

    backend = GradesJsonOutputs()
    metric = GEval(
        name="extraction",
        criteria=None,
        evaluation_steps=["The actual output is one JSON object naming the caller."],
        evaluation_params=[SingleTurnParams.INPUT, SingleTurnParams.ACTUAL_OUTPUT],
        model=offline_model(backend),
        async_mode=False,
    )
    score = as_scorer(metric)
    good = score({"prompt": "Caller: this is Ann Lee."}, '{"patient_name": "Ann Lee"}')
    bad = score({"prompt": "Caller: this is Ann Lee."}, "no idea")
    assert good == pytest.approx(0.9)
    assert bad == pytest.approx(0.2)
    assert backend.prompts  # the metric really went through our backend


def test_our_scorer_is_a_deepeval_metric(offline):
    from deepeval.test_case import LLMTestCase

    metric = as_metric("json_fields", suite_scorer("json_fields"), threshold=0.5)
    ref = json.dumps(
        {
            "patient_name": "Ann Lee",
            "date": "May 2",
            "time": "9:00 AM",
            "reason": "knee pain",
            "insurance": "Aetna",
            "urgency": "soon",
        }
    )
    case = LLMTestCase(
        input="Caller: Ann Lee, May 2 9:00 AM, knee pain, Aetna, soon", actual_output=ref, expected_output=ref
    )
    assert metric.measure(case) == 1.0
    assert metric.is_successful()
    case.actual_output = "{}"
    assert metric.measure(case) == 0.0
    assert not metric.is_successful()
