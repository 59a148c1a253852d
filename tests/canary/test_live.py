"""The canary on loopback: two registered tiny models, a burst of requests, a killed worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from mlflow.tracking import MlflowClient

from ftlineage.gate.promotion import register
from ftlineage.net import free_port
from ftlineage.tracking import MlflowRegistry
from tests.conftest import log_tiny_model

pytestmark = pytest.mark.integration


def _register_pair(export) -> None:
    for alias in ("champion", "challenger"):
        client, run_id, uri = log_tiny_model(export, alias, 24)
        register(
            MlflowRegistry(client), name="hc", source=uri, run_id=run_id, tags={}, description="", alias=alias
        )


async def _burst(url: str, n: int, on_progress) -> list[httpx.Response]:
    sem = asyncio.Semaphore(6)
    done = 0

    async def one(client: httpx.AsyncClient, i: int) -> httpx.Response:
        nonlocal done
        async with sem:
            body = {
                "model": "hc",
                "user": f"user-{i}",
                "messages": [
                    {"role": "user", "content": f"Receptionist: Hello. Caller: Hi, this is caller {i}."}
                ],
            }
            resp = await client.post(f"{url}/v1/chat/completions", json=body)
        done += 1
        on_progress(done)
        return resp

    async with httpx.AsyncClient(timeout=120) as client:
        return await asyncio.gather(*(one(client, i) for i in range(n)))


def test_every_request_is_answered_when_the_challenger_worker_dies_mid_burst(tiny_export, store):
    _register_pair(tiny_export)
    port = free_port()
    env = {**os.environ}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ftlineage",
            "canary",
            "serve",
            "--model",
            "hc",
            "--split",
            "0.5",
            "--shadow",
            "0.5",
            "--port",
            str(port),
            "--suite",
            "healthcare_v17",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        pids = httpx.get(f"{url}/canary/status").json()["workers"]
        killed = []

        def progress(done: int) -> None:
            if done == 15 and not killed:
                os.kill(pids["challenger"], signal.SIGKILL)
                killed.append(done)

        responses = asyncio.run(_burst(url, 60, progress))
        assert killed
        assert [r.status_code for r in responses] == [200] * 60
        assert all(r.json()["choices"][0]["message"]["content"] is not None for r in responses)
        arms = [r.headers["x-ftlineage-arm"] for r in responses]
        assert "challenger" in arms  # served before the kill
        status = httpx.get(f"{url}/canary/status").json()
        assert status["requests"] == 60
        assert status["fallbacks"] >= 1  # routed to the dead challenger, answered by the champion
        inv = httpx.post(f"{url}/invocations", json={"inputs": ["Caller: Hi, this is Ana."]}, timeout=60)
        assert inv.status_code == 200
        assert len(inv.json()["predictions"]) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    run = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("canary-hc").experiment_id])[0]
    assert run.data.tags["ftlineage.challenger_version"] == "2"
