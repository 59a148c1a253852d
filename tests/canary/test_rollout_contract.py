"""The canary verdict as Argo Rollouts and Flagger call it, read from the shipped manifests.

A real HTTP server runs the analysis app; the test reads each controller's URL path, JSON path
and conditions from ``deploy/`` and calls the endpoint exactly that way: Argo's web provider
(GET, the value at ``jsonPath``, then ``successCondition``/``failureCondition``) and Flagger's
webhooks (POST of its payload; any status above 202 is a failed check).
"""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
import uvicorn
import yaml

from ftlineage import suites
from ftlineage.arena import rubric_judge
from ftlineage.canary import AnalysisService, Monitor, MonitorPolicy, build_analysis_app
from ftlineage.net import free_port
from tests.conftest import ROOT

SUITE = suites.load("healthcare_v17")
CASES = SUITE.heldout[:12]  # cases with a reference answer
FLAGGER_PAYLOAD = {"name": "extractor", "namespace": "ml", "phase": "Progressing", "checksum": "6b1c0d",
                   "metadata": {"type": "rollout"}}  # fmt: skip


def _serve(app) -> tuple[str, uvicorn.Server]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


@pytest.fixture
def analysis_url(request):
    """The analysis service, optionally in front of two model services: (url, service)."""
    champion, challenger = getattr(request, "param", (None, None))
    policy = MonitorPolicy(sustain=2, stable_pairs=6)
    service = AnalysisService(Monitor(policy), rubric_judge(suite=SUITE), champion, challenger)
    url, server = _serve(build_analysis_app(service))
    yield url, service
    server.should_exit = True


def _argo() -> dict:
    docs = list(yaml.safe_load_all((ROOT / "deploy/argo/analysis-template.yaml").read_text()))
    (template,) = [d for d in docs if d["kind"] == "AnalysisTemplate"]
    return template["spec"]["metrics"][0]


def _json_path(expr: str, body: dict):
    """Argo's ``{$.a.b}`` JSON path over a response body."""
    path = re.fullmatch(r"\{\$\.([\w.]+)\}", expr)
    assert path, expr
    value = body
    for part in path.group(1).split("."):
        value = value[part]
    return value


def _condition(expr: str, result) -> bool:
    """Argo's ``result == "x"`` condition."""
    m = re.fullmatch(r'result == "(\w+)"', expr)
    assert m, expr
    return result == m.group(1)


def _argo_measure(base: str) -> str:
    """One measurement as Argo's web provider takes it: Successful, Failed or Inconclusive."""
    metric = _argo()
    web = metric["provider"]["web"]
    answer = requests.get(base + urlsplit(web["url"]).path, timeout=web["timeoutSeconds"])
    assert answer.status_code == 200  # a non-2xx answer would be a measurement error, not a verdict
    result = _json_path(web["jsonPath"], answer.json())
    if _condition(metric["failureCondition"], result):
        return "Failed"
    return "Successful" if _condition(metric["successCondition"], result) else "Inconclusive"


def _flagger(base: str, hook_type: str) -> int:
    canary = yaml.safe_load((ROOT / "deploy/flagger/canary.yaml").read_text())
    (hook,) = [h for h in canary["spec"]["analysis"]["webhooks"] if h["type"] == hook_type]
    answer = requests.post(base + urlsplit(hook["url"]).path, json=FLAGGER_PAYLOAD, timeout=10)
    return answer.status_code


def _pairs(base: str, challenger_answer, n: int = 6) -> dict:
    """Post ``n`` pairs (one request holding a list), as a team that logs both answers would."""
    pairs = [{"key": f"u{i}", "prompt": c.prompt, "champion": c.reference, "challenger": challenger_answer(c)}
             for i, c in enumerate(CASES[i % len(CASES)] for i in range(n))]  # fmt: skip
    answer = requests.post(f"{base}/v1/pairs", json=pairs, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_good_challenger_is_inconclusive_then_passes_both_controllers(analysis_url):
    base, _ = analysis_url
    assert _argo_measure(base) == "Inconclusive"
    assert _flagger(base, "rollout") == 200  # no alarm: Flagger keeps shifting traffic
    assert _flagger(base, "confirm-promotion") == 423  # too few pairs: Flagger waits
    _pairs(base, lambda case: case.reference)
    assert _argo_measure(base) == "Successful"
    assert _flagger(base, "confirm-promotion") == 200
    assert "ftlineage_canary_stable 1.0" in requests.get(f"{base}/metrics", timeout=10).text


def test_a_broken_challenger_fails_both_controllers(analysis_url):
    base, service = analysis_url
    assert _pairs(base, lambda case: "not json at all", n=40)["verdict"] == "fail"
    assert service.monitor.status.rollback
    assert _argo_measure(base) == "Failed"
    assert _flagger(base, "rollout") == 409  # above 202: a failed check, Flagger rolls back
    assert _flagger(base, "confirm-promotion") == 409


def _model_service(answer: str) -> tuple[str, uvicorn.Server]:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict) -> dict:
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]}

    return _serve(app)


def test_mirrored_requests_are_answered_by_both_services_and_judged():
    good, good_server = _model_service(CASES[0].reference)
    bad, bad_server = _model_service("not json at all")
    service = AnalysisService(Monitor(MonitorPolicy(sustain=2, stable_pairs=6)), rubric_judge(suite=SUITE),
                              good, bad)  # fmt: skip
    base, server = _serve(build_analysis_app(service))
    try:
        for i in range(40):
            body = {"model": "extractor", "user": f"u{i}",
                    "messages": [{"role": "user", "content": CASES[0].prompt}]}  # fmt: skip
            answer = requests.post(f"{base}/v1/chat/completions", json=body, timeout=10)
            assert answer.status_code == 202  # the mirror's copy is accepted, never answered
        deadline = time.monotonic() + 30
        while service.monitor.status.pairs < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert service.monitor.status.pairs == 40
        assert service.errors == 0
        assert _argo_measure(base) == "Failed"
        bad_request = requests.post(f"{base}/v1/chat/completions", json={"messages": []}, timeout=10)
        assert bad_request.status_code == 400
    finally:
        for s in (server, good_server, bad_server):
            s.should_exit = True
