"""The canary's verdict for the rollout tools teams already run: Argo Rollouts and Flagger.

At scale the traffic split belongs to the mesh (Istio, KServe) and the promotion loop to Argo
Rollouts or Flagger. This service does the one thing they cannot: judge shadow pairs and keep
the anytime-valid monitor. Pairs arrive two ways:

* ``POST /v1/chat/completions`` or ``POST /invocations``: a request the mesh mirrors here
  (Istio ``mirror``); the service asks both model services (``--champion-url``,
  ``--challenger-url``) and judges the pair off the request path. The mirror ignores the answer;
  it gets ``202``.
* ``POST /v1/pairs``: pairs a team already logs, ``{"key", "prompt", "champion", "challenger"}``.

The controllers read the verdict:

* ``GET /analysis``: Argo Rollouts' web metric provider. Always ``200``; ``verdict`` is
  ``"pass"``, ``"fail"`` or ``"inconclusive"``, for ``jsonPath: "{$.verdict}"`` with
  ``successCondition: result == "pass"`` and ``failureCondition: result == "fail"``.
* ``POST /flagger/rollout``: a Flagger ``rollout`` webhook: ``200`` while no rollback is called
  for, ``409`` (a failed check) once the monitor calls one.
* ``POST /flagger/confirm-promotion``: Flagger's ``confirm-promotion`` gate: ``200`` on a pass
  verdict, ``423`` (keep waiting) otherwise, ``409`` after a rollback.
* ``GET /metrics``: the same state as Prometheus gauges (for a Flagger ``MetricTemplate``).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at runtime.
import asyncio
import math
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from ftlineage.arena import Judge
from ftlineage.canary._judging import judge_pair
from ftlineage.canary._monitor import Monitor, MonitorPolicy, MonitorStatus, PairObservation
from ftlineage.canary._service import _invocation_inputs

VERDICTS = ("pass", "fail", "inconclusive")


def verdict(status: MonitorStatus, policy: MonitorPolicy) -> str:
    """The controllers' verdict: ``fail``, ``pass`` or ``inconclusive``.

    ``fail`` once a rollback is called for; ``pass`` once stable (enough judged pairs, no alarm)
    with the challenger winning at least the floor of the time; ``inconclusive`` otherwise.
    """
    if status.rollback:
        return "fail"
    winning = not math.isnan(status.win_rate) and status.win_rate >= policy.win_floor
    return "pass" if status.stable and winning else "inconclusive"


def analysis(status: MonitorStatus, policy: MonitorPolicy) -> dict[str, Any]:
    """The JSON an Argo ``AnalysisTemplate`` reads (NaN shown as ``null``)."""

    def clean(x: float) -> float | None:
        return None if isinstance(x, float) and math.isnan(x) else x

    return {
        "verdict": verdict(status, policy),
        "pairs": status.pairs,
        "unscored": status.unscored,
        "win_rate": clean(status.win_rate),
        "win_interval": [clean(status.win_interval[0]), clean(status.win_interval[1])],
        "alarm": status.alarm,
        "rollback": status.rollback,
        "stable": status.stable,
    }


def prometheus(status: MonitorStatus) -> str:
    """The monitor as Prometheus text-format gauges."""
    gauges = {f"ftlineage_canary_{k}": v for k, v in status.headline().items()}
    gauges |= {"ftlineage_canary_rollback": float(status.rollback)}
    gauges |= {"ftlineage_canary_stable": float(status.stable)}
    lines = []
    for name, value in gauges.items():
        lines += [f"# TYPE {name} gauge", f"{name} {'NaN' if value != value else float(value)}"]
    return "\n".join(lines) + "\n"


@dataclass
class AnalysisService:
    """Judges shadow pairs into one monitor; answers the rollout controllers."""

    monitor: Monitor
    judge: Judge
    champion_url: str | None = None
    challenger_url: str | None = None
    seed: int = 0
    timeout: float = 30.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    errors: int = 0

    def observe(self, key: str, prompt: str, champion: str | None, challenger: str | None) -> MonitorStatus:
        """Judge one pair (a missing answer leaves it unscored) and feed the monitor."""
        obs: PairObservation = judge_pair(self.judge, key, prompt, champion, challenger, seed=self.seed)
        with self._lock:
            return self.monitor.observe(obs)

    async def _ask(self, url: str, path: str, body: dict[str, Any]) -> str | None:
        import httpx

        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                resp = await client.post(f"{url.rstrip('/')}{path}", json=body)
                resp.raise_for_status()
                data = resp.json()
            if path == "/invocations":
                return str(data["predictions"][0])
            return str(data["choices"][0]["message"]["content"])
        except (httpx.HTTPError, KeyError, IndexError, ValueError, TypeError):
            self.errors += 1
            return None

    async def _mirror(self, key: str, prompt: str, path: str, body: dict[str, Any]) -> None:
        urls = (self.champion_url or "", self.challenger_url or "")
        champion, challenger = await asyncio.gather(*(self._ask(url, path, body) for url in urls))
        await asyncio.to_thread(self.observe, key, prompt, champion, challenger)

    def mirrored(self, key: str, prompt: str, path: str, body: dict[str, Any]) -> None:
        """Schedule the pair of a mirrored request (both arms asked, then judged)."""
        task = asyncio.get_running_loop().create_task(self._mirror(key, prompt, path, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every scheduled pair (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _prompt(path: str, body: dict[str, Any]) -> str | None:
    if path == "/invocations":
        inputs = _invocation_inputs(body)
        return inputs[0] if inputs else None
    messages = body.get("messages") or []
    return next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), None)


def build_analysis_app(service: AnalysisService) -> Any:
    """The FastAPI app the mesh mirrors to and the rollout controllers poll."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse, PlainTextResponse

    app = FastAPI(title="ftlineage canary analysis")

    def status() -> MonitorStatus:
        return service.monitor.status

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/analysis")
    async def get_analysis() -> dict[str, Any]:
        return analysis(status(), service.monitor.policy)

    @app.get("/metrics")
    async def metrics() -> Any:
        return PlainTextResponse(prometheus(status()), media_type="text/plain; version=0.0.4")

    @app.post("/flagger/rollout")
    async def flagger_rollout(request: Request) -> Any:
        await request.body()  # Flagger's payload (name, namespace, phase, checksum, metadata)
        body = analysis(status(), service.monitor.policy)
        return JSONResponse(body, status_code=409 if body["verdict"] == "fail" else 200)

    @app.post("/flagger/confirm-promotion")
    async def flagger_confirm(request: Request) -> Any:
        await request.body()
        body = analysis(status(), service.monitor.policy)
        code = {"pass": 200, "fail": 409}.get(body["verdict"], 423)
        return JSONResponse(body, status_code=code)

    @app.post("/v1/pairs")
    async def pairs(request: Request) -> Any:
        body = await request.json()
        items = body if isinstance(body, list) else [body]
        for i, p in enumerate(items):
            if not isinstance(p, dict) or not isinstance(p.get("prompt"), str):
                raise HTTPException(400, f"pair {i}: needs a string 'prompt' (and 'champion', 'challenger')")
        for p in items:
            key = str(p.get("key") or uuid.uuid4())
            champion, challenger = p.get("champion"), p.get("challenger")
            await asyncio.to_thread(service.observe, key, p["prompt"], champion, challenger)
        return analysis(status(), service.monitor.policy)

    async def mirror(request: Request, path: str) -> Any:
        if not (service.champion_url and service.challenger_url):
            raise HTTPException(400, "mirrored requests need --champion-url and --challenger-url")
        body = await request.json()
        prompt = _prompt(path, body)
        if prompt is None:
            raise HTTPException(400, "no prompt: a user message (chat) or inputs[0] (invocations) is needed")
        key = str(body.get("user") or request.headers.get("x-request-id") or uuid.uuid4())
        service.mirrored(key, prompt, path, body)
        return JSONResponse({"accepted": True}, status_code=202)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        return await mirror(request, "/v1/chat/completions")

    @app.post("/invocations")
    async def invocations(request: Request) -> Any:
        return await mirror(request, "/invocations")

    return app
