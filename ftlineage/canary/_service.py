"""The canary's HTTP front: route, answer, shadow, judge off the request path, roll back.

Endpoints: ``POST /v1/chat/completions`` (OpenAI chat shape; the sticky key is ``user``, else
the ``X-Request-Id`` header), ``POST /invocations`` (MLflow scoring shape: ``inputs``,
``instances`` or ``dataframe_split``), ``GET /canary/status``, ``GET /health``.

A challenger that errors or times out is answered by the champion for that request; judge
failures leave pairs unscored. Rollback and promotion go through ``CanaryHooks`` (the
registry and the MLflow run), so this module holds no registry code.
"""

import asyncio
import multiprocessing
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ftlineage.arena import Judge
from ftlineage.canary._judging import judge_pair
from ftlineage.canary._monitor import Monitor, MonitorStatus, PairObservation
from ftlineage.canary._router import Arm, Router

_JUDGE: list[Judge] = []


def _init_judge(name: str, options: dict[str, Any], suite: str | None = None) -> None:
    """(judge process) Build the judge once; exit if the router dies."""
    from ftlineage.arena import get_judge
    from ftlineage.canary._worker import exit_with_parent

    exit_with_parent()
    from ftlineage import suites

    _JUDGE.append(get_judge(name, suite=suites.load(suite) if suite else None, **options))


def _judge_in_worker(
    key: str, prompt: str, champion: str | None, challenger: str | None, seed: int
) -> PairObservation:
    """(judge process) Judge one pair with the judge built at start-up."""
    return judge_pair(_JUDGE[0], key, prompt, champion, challenger, seed=seed)


class CanaryHooks(Protocol):
    """Side effects of the canary's decisions (registry, tracking).

    Contract: each method is called from a worker thread, at most once for ``rollback`` and
    ``promote``; ``record`` once per judged pair. Hooks must not raise.
    """

    def record(self, status: MonitorStatus, pair: dict[str, Any] | None = None) -> None:
        """Log the monitor's state after a pair, and the pair itself (prompt, answers, verdict)."""

    def rollback(self, status: MonitorStatus) -> None:
        """Record the rollback in the registry and the run."""

    def promote(self, status: MonitorStatus) -> None:
        """Move ``@champion`` to the stable challenger (through the guard)."""


@dataclass
class Counters:
    """What the service did, for ``/canary/status`` and the load tests."""

    requests: int = 0
    served: dict[str, int] = field(default_factory=lambda: {"champion": 0, "challenger": 0})
    fallbacks: int = 0
    shadow_errors: int = 0
    router_ms: list[float] = field(default_factory=list)


class CanaryService:
    """Routes requests between two model workers and feeds the monitor."""

    def __init__(
        self,
        router: Router,
        workers: dict[Arm, str],
        judge: str,
        monitor: Monitor,
        hooks: CanaryHooks,
        *,
        judge_options: dict[str, Any] | None = None,
        suite: str | None = None,
        timeout: float = 30.0,
        promote_when_stable: bool = False,
        worker_pids: dict[str, int] | None = None,
    ) -> None:
        self.router, self.workers, self.monitor = router, workers, monitor
        self.hooks, self.timeout, self.promote_when_stable = hooks, timeout, promote_when_stable
        self.worker_pids = worker_pids or {}
        self.counters = Counters()
        self._lock = threading.Lock()
        self._promoted = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: Any = None
        # The judge lives in its own process (built once there): judging must not hold the
        # router's GIL, and a model-based judge is loaded once, not shipped per pair.
        self._judges = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_judge,
            initargs=(judge, judge_options or {}, suite),
        )

    async def _call(self, arm: Arm, prompt: str) -> tuple[str | None, float]:
        """One worker's answer (``None`` on error or timeout) and the time spent waiting for it."""
        import aiohttp

        if self._client is None:  # aiohttp: its C parser keeps the hop well under a millisecond
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        start = time.perf_counter()
        try:
            async with self._client.post(f"{self.workers[arm]}/predict", json={"inputs": [prompt]}) as resp:
                resp.raise_for_status()
                body = await resp.json()
            return str(body["predictions"][0]), time.perf_counter() - start
        except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, IndexError, ValueError):
            return None, time.perf_counter() - start

    def close(self) -> None:
        """Stop the judge process (the HTTP session closes with the event loop)."""
        self._judges.shutdown(wait=True, cancel_futures=True)

    async def answer(self, key: str, prompt: str) -> tuple[str, Arm]:
        """Answer from the routed arm, falling back to the champion; schedule the shadow pair.

        The router's own time (everything but waiting for workers) is kept in
        ``counters.router_ms`` and returned in the ``X-Ftlineage-Router-Ms`` header.
        """
        start = time.perf_counter()
        route = self.router.route(key)
        arm: Arm = route.arm
        text, waited = await self._call(arm, prompt)
        if text is None and arm == "challenger":
            self.counters.fallbacks += 1
            arm = "champion"
            text, more = await self._call(arm, prompt)
            waited += more
        if text is None:
            raise RuntimeError("the champion did not answer")
        self.counters.requests += 1
        self.counters.served[arm] += 1
        if route.shadow:
            task = asyncio.get_running_loop().create_task(self._shadow(key, prompt, arm, text))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.counters.router_ms.append((time.perf_counter() - start - waited) * 1000)
        return text, arm

    async def _shadow(self, key: str, prompt: str, arm: Arm, text: str) -> None:
        other: Arm = "challenger" if arm == "champion" else "champion"
        other_text, _ = await self._call(other, prompt)
        if other_text is None:
            self.counters.shadow_errors += 1
        answers = {arm: text, other: other_text}
        loop = asyncio.get_running_loop()
        try:  # in another process: judging must not hold the router's GIL
            obs = await loop.run_in_executor(
                self._judges,
                _judge_in_worker,
                key,
                prompt,
                answers["champion"],
                answers["challenger"],
                self.router.seed,
            )
        except Exception:  # a judge outage leaves the pair unscored, never counted against anyone
            obs = PairObservation(key=key, outcome="unscored", champion={}, challenger={})
        pair: dict[str, Any] = {
            "key": key,
            "prompt": prompt,
            "champion": answers["champion"],
            "challenger": answers["challenger"],
            "outcome": obs.outcome,
            "rubrics": {"champion": obs.champion, "challenger": obs.challenger},
        }
        await asyncio.to_thread(self._observe, obs, pair)

    def _observe(self, obs: PairObservation, pair: dict[str, Any] | None = None) -> None:
        with self._lock:
            was_rolled_back = self.monitor.rolled_back
            status = self.monitor.observe(obs)
            if status.rollback and not was_rolled_back:
                self.router.split = 0.0  # traffic leaves the challenger at once
            promote = self.promote_when_stable and status.stable and not self._promoted
            self._promoted = self._promoted or promote
        self.hooks.record(status, pair)
        if status.rollback and not was_rolled_back:
            self.hooks.rollback(status)
        if promote:
            self.hooks.promote(status)

    async def drain(self) -> None:
        """Wait for pending shadow pairs (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def status(self) -> dict[str, Any]:
        """Router, counters and monitor, as JSON."""
        c = self.counters
        return {
            "split": self.router.split,
            "shadow": self.router.shadow,
            "requests": c.requests,
            "served": c.served,
            "fallbacks": c.fallbacks,
            "shadow_errors": c.shadow_errors,
            "workers": self.worker_pids,
            "monitor": self.monitor.status.model_dump(mode="json"),
        }


def _key(body: dict[str, Any], headers: Any) -> str:
    return str(body.get("user") or headers.get("x-user-id") or headers.get("x-request-id") or uuid.uuid4())


def _invocation_inputs(body: dict[str, Any]) -> list[str]:
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        cols = split.get("columns") or ["transcript"]
        col = cols.index("transcript") if "transcript" in cols else 0
        return [str(row[col]) for row in split.get("data", [])]
    rows = body.get("inputs", body.get("instances", []))
    return [str(r.get("transcript", next(iter(r.values()), "")) if isinstance(r, dict) else r) for r in rows]


def build_app(service: CanaryService) -> Any:
    """The FastAPI app in front of the service."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse

    app = FastAPI(title="ftlineage canary")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/canary/status")
    async def status() -> dict[str, Any]:
        return service.status()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        messages = body.get("messages") or []
        prompt = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), None)
        if prompt is None:
            raise HTTPException(400, "messages must contain a user message")
        try:
            text, arm = await service.answer(_key(body, request.headers), str(prompt))
        except RuntimeError as exc:
            raise HTTPException(503, str(exc)) from None
        reply = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "canary"),
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
            ],
        }
        own = f"{service.counters.router_ms[-1]:.3f}"
        return JSONResponse(reply, headers={"X-Ftlineage-Arm": arm, "X-Ftlineage-Router-Ms": own})

    @app.post("/invocations")
    async def invocations(request: Request) -> Any:
        body = await request.json()
        key = _key(body, request.headers)
        try:
            answered = [await service.answer(key, x) for x in _invocation_inputs(body)]
        except RuntimeError as exc:
            raise HTTPException(503, str(exc)) from None
        return JSONResponse(
            {"predictions": [t for t, _ in answered]},
            headers={"X-Ftlineage-Arm": ",".join(a for _, a in answered)},
        )

    return app
