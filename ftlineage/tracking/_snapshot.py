"""Read what a job run recorded into a ``RunSnapshot`` (lineage tags, metrics, case scores)."""

from __future__ import annotations

import json
from typing import Any

from mlflow.tracking import MlflowClient

from ftlineage import suites
from ftlineage import tags as T
from ftlineage.compare import RunSnapshot
from ftlineage.lineage import sha256_json
from ftlineage.readers import parse_versioned
from ftlineage.scoring import SuiteScores
from ftlineage.tracking._mlflow import get_run_or_fail, read_artifact_text


def snapshot(client: MlflowClient, run_id: str) -> RunSnapshot:
    """The run's SHAs (plus the arena judge's), candidate metrics and per-case scores."""
    run = get_run_or_fail(client, run_id, "pass two run ids of the main job")
    tags = run.data.tags
    shas = T.lineage_of(tags, strip=True)
    arena = read_artifact_text(client, run_id, "arena/arena.json")
    if arena:
        a: dict[str, Any] = json.loads(arena)
        shas["judge_sha"] = sha256_json(
            {k: a.get(k) for k in ("judge", "judge_version", "judge_params")}, domain="judge"
        )
    text = read_artifact_text(client, run_id, "scores/candidate.json")
    scores = parse_versioned(SuiteScores, text, f"run {run_id}: scores/candidate.json") if text else None
    metrics = (
        dict(scores.metrics)
        if scores
        else {
            k.removeprefix("candidate/"): v for k, v in run.data.metrics.items() if k.startswith("candidate/")
        }
    )
    if arena and a.get("win_rate") is not None:
        metrics["arena/win_rate"] = float(a["win_rate"])
    return RunSnapshot(
        run_id=run_id,
        shas=shas,
        metrics=metrics,
        cases=scores.cases if scores else (),
        prompts=suites.inputs_of(tags.get(T.SUITE)),
        plan=scores.plan if scores else None,
    )
