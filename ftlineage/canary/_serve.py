"""``ftlineage canary serve``: workers for @champion and @challenger, the router, the hooks.

The hooks are the canary's only side effects: per-pair metrics on the canary's MLflow run,
the rollback (the ``@challenger`` alias moves to ``@rolled_back``, version tags carry the
reason, the evidence is a run artifact) and, when asked, the promotion of a stable
challenger to ``@champion`` through the same compare-and-set path as ``ftlineage promote``
(so a guarded server checks its evidence).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ftlineage.canary._monitor import Monitor, MonitorPolicy, MonitorStatus
from ftlineage.canary._router import Router
from ftlineage.errors import BadInputError


class RegistryHooks:
    """Record pairs, roll back and promote through the MLflow registry and the canary run."""

    def __init__(
        self, client: Any, tracker: Any, name: str, challenger: str, champion: str, judge: str = "rubric"
    ) -> None:
        self.client, self.tracker, self.name = client, tracker, name
        self.challenger, self.champion, self.judge = challenger, champion, judge
        self.lineage = {"ftlineage.judge": judge}
        for arm, version in (("challenger", challenger), ("champion", champion)):
            tags = client.get_model_version(name, version).tags
            self.lineage |= {
                f"ftlineage.{arm}.{k.removeprefix('ftlineage.')}": v
                for k, v in tags.items()
                if k.startswith("ftlineage.") and k.endswith("_sha")
            }

    def record(self, status: MonitorStatus, pair: dict[str, Any] | None = None) -> None:
        """Win rate, its interval, rolling means and drops at step = pairs so far; the pair as a trace."""
        if pair is not None:
            self._trace(pair, status.pairs)
        metrics = {
            "canary/pairs": status.pairs,
            "canary/unscored": status.unscored,
            "canary/win_rate": status.win_rate,
            "canary/win_low": status.win_interval[0],
            "canary/win_high": status.win_interval[1],
        }
        metrics |= {f"canary/rolling/{k}": v for k, v in status.rolling.items()}
        metrics |= {f"canary/drop/{k}": v[0] for k, v in status.drops.items()}
        self.tracker.log_metrics({k: float(v) for k, v in metrics.items()}, step=status.pairs)

    def _trace(self, pair: dict[str, Any], n: int) -> None:
        """One trace per judged pair: both generations and the judgement, with both versions' SHAs."""
        attrs = {**self.lineage, "ftlineage.case_id": str(pair["key"]), "ftlineage.pair": str(n)}
        spans = [
            {
                "name": f"generate/{arm}",
                "type": "LLM",
                "inputs": {"prompt": pair["prompt"]},
                "outputs": {"output": pair.get(arm)},
                "attributes": {**attrs, "arm": arm},
            }
            for arm in ("champion", "challenger")
        ] + [
            {
                "name": "judge",
                "type": "EVALUATOR",
                "inputs": {"key": pair["key"]},
                "outputs": {
                    "outcome": pair["outcome"],
                    **{f"{a}/{k}": v for a, r in pair["rubrics"].items() for k, v in r.items()},
                },
                "attributes": attrs,
            }
        ]
        try:
            self.tracker.log_trace("canary-pair", spans, attrs)
        except Exception as exc:  # tracing must never take the canary down
            print(f"ftlineage canary: trace not logged: {exc}", file=sys.stderr)

    def rollback(self, status: MonitorStatus) -> None:
        """Move the alias, tag the version, log the evidence; never raise."""
        try:
            evidence = {
                "event": "rollback",
                "model": self.name,
                "challenger": self.challenger,
                "champion": self.champion,
                "time": time.time(),
                "status": status.model_dump(mode="json"),
            }
            self.client.set_model_version_tag(self.name, self.challenger, "ftlineage.canary", "rolled_back")
            self.client.set_model_version_tag(
                self.name, self.challenger, "ftlineage.canary_reason", (status.alarm or "")[:4000]
            )
            self.client.set_registered_model_alias(self.name, "rolled_back", self.challenger)
            self.client.delete_registered_model_alias(self.name, "challenger")
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "rollback.json"
                path.write_text(json.dumps(evidence, indent=2), encoding="utf-8")
                self.tracker.log_artifact(path, "canary")
            self.tracker.set_tags(
                {"ftlineage.canary": "rolled_back", "ftlineage.canary_reason": status.alarm or ""}
            )
            self.tracker.flush()
        except Exception as exc:  # the router already stopped sending traffic; keep serving
            print(f"ftlineage canary: rollback bookkeeping failed: {exc}", file=sys.stderr)

    def promote(self, status: MonitorStatus) -> None:
        """Move @champion to the stable challenger (compare-and-set; the guard checks evidence)."""
        from ftlineage.tracking._promote import move_alias

        why = f"canary stable over {status.pairs} pairs, win rate {status.win_rate:.3f}"
        try:
            move_alias(self.client, self.name, "champion", self.challenger, expect=self.champion, why=why)
            self.tracker.set_tags({"ftlineage.canary": "promoted"})
        except Exception as exc:
            self.tracker.set_tags(
                {"ftlineage.canary": "promotion_refused", "ftlineage.canary_error": str(exc)[:500]}
            )


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(args: list[str], port: int) -> subprocess.Popen[bytes]:
    """Start a worker process on ``port`` and wait until it answers ``/health``."""
    import httpx

    cmd = [sys.executable, "-m", "ftlineage.canary._worker", *args, "--port", str(port)]
    proc = subprocess.Popen(cmd, env=dict(os.environ))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BadInputError(f"model worker {' '.join(args)} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise BadInputError(f"model worker {' '.join(args)} did not start in 180 s")


def _versions(client: Any, name: str) -> tuple[str, str]:
    from ftlineage.tracking._promote import current_version

    champion, challenger = (
        current_version(client, name, "champion"),
        current_version(client, name, "challenger"),
    )
    if not champion or not challenger:
        raise BadInputError(
            f"canary: {name!r} needs both @champion and @challenger aliases "
            f"(found champion={champion}, challenger={challenger}); see `ftlineage promote`"
        )
    return champion, challenger


def _run_suite(client: Any, name: str, version: str) -> str | None:
    """The suite the version's run was gated on (its ``ftlineage.suite`` tag)."""
    run_id = client.get_model_version(name, version).run_id
    return client.get_run(run_id).data.tags.get("ftlineage.suite") if run_id else None


def serve(
    name: str,
    *,
    split: float,
    shadow: float,
    host: str,
    port: int,
    judge_name: str,
    policy: MonitorPolicy,
    promote_when_stable: bool,
    seed: int = 0,
    suite: str | None = None,
) -> None:
    """Serve the canary until interrupted; workers are stopped on the way out."""
    import uvicorn
    from mlflow.tracking import MlflowClient

    from ftlineage.arena import get_judge
    from ftlineage.canary._service import CanaryService, build_app
    from ftlineage.tracking._mlflow import MlflowTracker

    client = MlflowClient()
    champion, challenger = _versions(client, name)
    from ftlineage import suites

    suite = suite or _run_suite(client, name, challenger)
    get_judge(judge_name, suite=suites.load(suite) if suite else None)  # fail fast, before workers start
    ports = {"champion": free_port(), "challenger": free_port()}
    versions = {"champion": champion, "challenger": challenger}
    procs = {
        arm: start_worker(["--model-uri", f"models:/{name}/{v}"], ports[arm]) for arm, v in versions.items()
    }
    tracker = MlflowTracker.start(
        experiment=f"canary-{name}", run_name=f"canary v{challenger} vs v{champion}"
    )
    tracker.set_tags(
        {
            "ftlineage.canary_model": name,
            "ftlineage.champion_version": champion,
            "ftlineage.challenger_version": challenger,
            "ftlineage.canary": "running",
        }
    )
    tracker.log_params({"split": split, "shadow": shadow, "judge": judge_name, **policy.model_dump()})
    service = CanaryService(
        Router(split=split, shadow=shadow, seed=seed),
        {arm: f"http://127.0.0.1:{p}" for arm, p in ports.items()},  # type: ignore[misc]
        judge_name,
        Monitor(policy),
        RegistryHooks(client, tracker, name, challenger, champion, judge_name),
        promote_when_stable=promote_when_stable,
        suite=suite,
        worker_pids={arm: p.pid for arm, p in procs.items()},
    )
    print(
        f"ftlineage canary: serving {name} v{challenger} (split {split}) vs v{champion} on "
        f"http://{host}:{port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.run(build_app(service), host=host, port=port, log_level="warning", access_log=False)
    finally:
        service.close()
        for proc in procs.values():
            proc.terminate()
        tracker.finish("FINISHED")
