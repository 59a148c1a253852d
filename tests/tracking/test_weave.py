"""The Weave adapter with the real weave client against a loopback server that records calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ftlineage.net import free_port
from ftlineage.testing.tracker_contract import SHAS, Recorded, TrackerContract
from ftlineage.testing.weave_server import Recorder, serve
from ftlineage.tracking._weave import WeaveTracker

pytestmark = pytest.mark.integration


@pytest.fixture
def weave_port(monkeypatch):
    port = free_port()
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WF_TRACE_SERVER_URL", f"http://127.0.0.1:{port}/traces")
    monkeypatch.setenv("WANDB_ENTITY", "ent")
    return port


def _spans(n=3):
    return [
        {
            "name": f"case-{i}",
            "type": "CHAIN",
            "inputs": {"prompt": f"p{i}"},
            "outputs": {"score": 1.0},
            "attributes": {**SHAS, "ftlineage.case_id": f"case-{i}"},
            "children": [
                {"name": "generate", "type": "LLM", "attributes": {**SHAS, "ftlineage.case_id": f"case-{i}"}},
                {
                    "name": "score",
                    "type": "EVALUATOR",
                    "attributes": {**SHAS, "ftlineage.case_id": f"case-{i}"},
                },
            ],
        }
        for i in range(n)
    ]


def _sync(outbox):
    return subprocess.run(
        [sys.executable, "-m", "ftlineage", "traces", "sync", "--dir", str(outbox)],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )


def test_traces_wait_on_disk_while_the_server_is_down_then_sync_delivers_every_span_once(
    weave_port, tmp_path
):
    outbox = tmp_path / "outbox"
    tracker = WeaveTracker("ent/proj", outbox, "run-1")
    tracker.log_trace("checkpoint-2", _spans(), dict(SHAS))
    tracker.log_trace(
        "arena", [{"id": "a-0", "pick": "first", **SHAS, "ftlineage.judge": "rubric"}], dict(SHAS)
    )
    tracker.finish("FINISHED")  # the server is down: delivery fails, nothing is lost
    assert len(list((outbox / "pending").glob("*.json"))) == 2

    rec = Recorder()
    server = serve(weave_port, rec)
    try:
        done = _sync(outbox)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "delivered 2 trace(s); 0 pending" in done.stdout
        assert len(rec.calls) == 2 + 3 * 3 + 1  # two roots, three cases with two children each, one judgement
        assert set(rec.arrivals.values()) == {1}
        for call in rec.calls.values():
            assert call["attributes"]["ftlineage.prompt_sha"] == SHAS["ftlineage.prompt_sha"]
            assert call["attributes"]["ftlineage.model_sha"] == SHAS["ftlineage.model_sha"]
            assert call["project_id"] == "ent/proj"
        cases = [c for c in rec.calls.values() if c["display_name"].startswith("case-")]
        assert sorted(c["attributes"]["ftlineage.case_id"] for c in cases) == ["case-0", "case-1", "case-2"]
        roots = [c for c in rec.calls.values() if c["parent_id"] is None]
        assert sorted(c["display_name"] for c in roots) == ["arena", "checkpoint-2"]
        assert all(c["trace_id"] in {r["id"] for r in roots} for c in rec.calls.values())

        again = _sync(outbox)
        assert "delivered 0 trace(s); 0 pending" in again.stdout
        assert set(rec.arrivals.values()) == {1}

        # A crash between sending and marking delivered: the same ids go again, the server upserts.
        (moved,) = [p for p in (outbox / "delivered").glob("*.json") if "arena" in p.read_text()]
        shutil.move(moved, outbox / "pending" / moved.name)
        assert _sync(outbox).returncode == 0
        assert len(rec.calls) == 12
    finally:
        server.shutdown()


class TestWeaveTracker(TrackerContract):
    supports_metrics = False

    @pytest.fixture(autouse=True)
    def _server(self, weave_port):
        self.recorder = Recorder()
        server = serve(weave_port, self.recorder)
        yield
        server.shutdown()

    def make(self, tmp_path):
        return WeaveTracker("ent/proj", tmp_path / "outbox", "contract-run")

    def read(self, tracker, tmp_path):
        calls = list(self.recorder.calls.values())
        roots = {c["id"]: c["display_name"] for c in calls if c["parent_id"] is None}
        traces: dict[str, list[dict]] = {}
        for c in calls:
            if c["parent_id"] is not None:
                traces.setdefault(roots[c["trace_id"]], []).append(
                    {**c["attributes"], "name": c["display_name"]}
                )
        return Recorded(traces=traces)
