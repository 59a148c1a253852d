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
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from ftlineage import tags as T
from ftlineage.canary._monitor import Monitor, MonitorPolicy, MonitorStatus
from ftlineage.canary._router import ARMS, Arm, Router
from ftlineage.errors import BadInputError
from ftlineage.gate.evidence import gate_key
from ftlineage.gate.promotion import Aliases, move_alias
from ftlineage.logging import get_logger
from ftlineage.net import free_port
from ftlineage.tracking import Registry, Span, Tracker

logger = get_logger(__name__)
MAX_LOSSES = 2000


class RegistryHooks:
    """Record pairs, roll back and promote through the registry and the canary run."""

    def __init__(
        self,
        registry: Registry,
        tracker: Tracker,
        name: str,
        challenger: str,
        champion: str,
        judge: str = "rubric",
        aliases: Aliases | None = None,
    ) -> None:
        self.registry, self.tracker, self.name = registry, tracker, name
        self.challenger, self.champion, self.judge = challenger, champion, judge
        self.aliases = aliases or Aliases.of()
        self.losses: deque[dict[str, Any]] = deque(maxlen=MAX_LOSSES)  # what a rollback's feed clusters
        self.lineage = {T.JUDGE: judge}
        for arm, version in (("challenger", challenger), ("champion", champion)):
            mv = registry.get_version(name, version)
            shas = T.lineage_of(mv.tags if mv else {}, strip=True)
            self.lineage |= {f"{T.PREFIX}{arm}.{k}": v for k, v in shas.items()}

    def record(self, status: MonitorStatus, pair: dict[str, Any] | None = None) -> None:
        """Win rate, its interval, rolling means and drops at step = pairs so far; the pair as a trace."""
        if pair is not None:
            self._trace(pair, status.pairs)
            if pair.get("outcome") == "loss":
                self.losses.append(pair)
        metrics: dict[str, float] = {f"canary/{k}": v for k, v in status.headline().items()}
        metrics |= {f"canary/rolling/{k}": v for k, v in status.rolling.items()}
        metrics |= {f"canary/drop/{k}": v[0] for k, v in status.drops.items()}
        self.tracker.log_metrics({k: float(v) for k, v in metrics.items()}, step=status.pairs)

    def _trace(self, pair: dict[str, Any], n: int) -> None:
        """One trace per judged pair: both generations and the judgement, with both versions' SHAs."""
        attrs = {**self.lineage, T.CASE_ID: str(pair["key"]), T.PAIR: str(n)}
        spans = [
            Span(
                f"generate/{arm}",
                "LLM",
                {"prompt": pair["prompt"]},
                {"output": pair.get(arm)},
                {**attrs, "arm": arm},
            )
            for arm in ARMS
        ]
        outcome = {f"{a}/{k}": v for a, r in pair["rubrics"].items() for k, v in r.items()}
        spans.append(
            Span("judge", "EVALUATOR", {"key": pair["key"]}, {"outcome": pair["outcome"], **outcome}, attrs)
        )
        try:
            self.tracker.log_trace("canary-pair", spans, attrs)
        except Exception as exc:  # tracing must never take the canary down
            logger.warning("canary: trace not logged: %s", exc)

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
            reg, name, version = self.registry, self.name, self.challenger
            reg.set_version_tag(name, version, T.CANARY, "rolled_back")
            reg.set_version_tag(name, version, T.CANARY_REASON, (status.alarm or "")[:4000])
            reg.set_alias(name, self.aliases.rolled_back, version)
            reg.delete_alias(name, self.aliases.challenger)
            kind = self._failure_feed()
            evidence["failed_requests"] = kind
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "rollback.json"
                path.write_text(json.dumps(evidence, indent=2), encoding="utf-8")
                self.tracker.log_artifact(path, "canary")
            self.tracker.set_tags({T.CANARY: "rolled_back", T.CANARY_REASON: status.alarm or ""})
            if kind:
                self.tracker.set_tags({T.CANARY_FAILED: kind[:250]})
                reg.set_version_tag(name, version, T.CANARY_FAILED, kind[:250])
            self.tracker.flush()
        except Exception as exc:  # the router already stopped sending traffic; keep serving
            logger.error("canary: rollback bookkeeping failed: %s", exc)

    def _failure_feed(self) -> str:
        """Cluster the pairs the challenger lost; log ``failures/`` and return the top cluster's name."""
        if not self.losses:
            return ""
        try:
            from ftlineage.audit import BUNDLED_MODEL, get_embedder
            from ftlineage.failures import build_feed, from_canary, render_html

            feed = build_feed(
                from_canary(list(self.losses)),
                get_embedder(BUNDLED_MODEL),
                run_id=self.tracker.run_id,
                against=f"champion:v{self.champion}",
                canary_run=self.tracker.run_id,
            )
            with tempfile.TemporaryDirectory() as tmp:
                for fname, text in (
                    ("feed.json", feed.model_dump_json(indent=1)),
                    ("feed.html", render_html(feed)),
                ):
                    (Path(tmp) / fname).write_text(text, encoding="utf-8")
                    self.tracker.log_artifact(Path(tmp) / fname, "failures")
        except Exception as exc:  # the rollback itself already happened; the diagnosis is best effort
            logger.warning("canary: failure feed not built: %s", exc)
            return ""
        top = feed.clusters[0] if feed.clusters else None
        return f"{top.name} ({top.size} of {len(feed.cases)} lost pairs)" if top else ""

    def promote(self, status: MonitorStatus) -> None:
        """Move the champion alias to the stable challenger (compare-and-set; the guard checks evidence)."""
        why = f"canary stable over {status.pairs} pairs, win rate {status.win_rate:.3f}"
        try:
            move_alias(
                self.registry,
                self.name,
                self.aliases.champion,
                self.challenger,
                expect=self.champion,
                why=why,
                key=gate_key(),
            )
            self.tracker.set_tags({T.CANARY: "promoted"})
        except Exception as exc:
            self.tracker.set_tags({T.CANARY: "promotion_refused", T.CANARY_ERROR: str(exc)[:500]})


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


def _versions(registry: Registry, name: str, aliases: Aliases) -> tuple[str, str]:
    found = registry.aliases(name)
    champion, challenger = found.get(aliases.champion), found.get(aliases.challenger)
    if not champion or not challenger:
        raise BadInputError(
            f"canary: {name!r} needs both @{aliases.champion} and @{aliases.challenger} aliases "
            f"(found {aliases.champion}={champion}, {aliases.challenger}={challenger}); "
            "see `ftlineage promote`"
        )
    return champion, challenger


def _run_suite(registry: Registry, name: str, version: str) -> str | None:
    """The suite the version's run was gated on (its ``ftlineage.suite`` tag)."""
    mv = registry.get_version(name, version)
    tags = registry.run_tags(mv.run_id) if mv and mv.run_id else None
    return (tags or {}).get(T.SUITE)


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
    aliases: Aliases | None = None,
) -> None:
    """Serve the canary until interrupted; workers are stopped on the way out."""
    import uvicorn

    from ftlineage import suites
    from ftlineage.arena import get_judge
    from ftlineage.canary._service import CanaryService, build_app
    from ftlineage.tracking import MlflowRegistry, MlflowTracker

    aliases = aliases or Aliases.of()
    registry = MlflowRegistry.connect()
    champion, challenger = _versions(registry, name, aliases)
    suite = suite or _run_suite(registry, name, challenger)
    get_judge(judge_name, suite=suites.load(suite) if suite else None)  # fail fast, before workers start
    versions: dict[Arm, str] = {"champion": champion, "challenger": challenger}
    ports = {arm: free_port() for arm in ARMS}
    procs = {
        arm: start_worker(["--model-uri", f"models:/{name}/{v}"], ports[arm]) for arm, v in versions.items()
    }
    tracker = MlflowTracker.start(
        experiment=f"canary-{name}", run_name=f"canary v{challenger} vs v{champion}"
    )
    tracker.set_tags(
        {
            T.CANARY_MODEL: name,
            T.CHAMPION_VERSION: champion,
            T.CHALLENGER_VERSION: challenger,
            T.CANARY: "running",
        }
    )
    tracker.log_params({"split": split, "shadow": shadow, "judge": judge_name, **policy.model_dump()})
    service = CanaryService(
        Router(split=split, shadow=shadow, seed=seed),
        {arm: f"http://127.0.0.1:{p}" for arm, p in ports.items()},
        judge_name,
        Monitor(policy),
        RegistryHooks(registry, tracker, name, challenger, champion, judge_name, aliases),
        promote_when_stable=promote_when_stable,
        suite=suite,
        worker_pids={arm: p.pid for arm, p in procs.items()},
    )
    logger.info(
        "canary: serving %s v%s (split %s) vs v%s on http://%s:%d",
        name,
        challenger,
        split,
        champion,
        host,
        port,
    )
    try:
        uvicorn.run(build_app(service), host=host, port=port, log_level="warning", access_log=False)
    finally:
        service.close()
        for proc in procs.values():
            proc.terminate()
        tracker.finish("FINISHED")
