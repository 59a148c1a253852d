"""The main job on the production stack: PostgreSQL store, S3 artifacts, the guarded server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.stack import BUCKET
from ftlineage.stack._services import pg_bindir
from tests.conftest import ROOT, TINY_RECIPE

pytestmark = [pytest.mark.integration, pytest.mark.stack]


def stack_job(stack, tmp_path: Path, model_cache: Path, name: str, edits: dict[str, str] | None = None):
    """The tiny recipe (experiment ``name``) as a job process against the stack's server."""
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp_path / "corpus.jsonl").write_text("".join(src[:150]))
    recipe = TINY_RECIPE.format(corpus=tmp_path / "corpus.jsonl").replace("name: tiny", f"name: {name}")
    for old, new in (edits or {}).items():
        assert old in recipe
        recipe = recipe.replace(old, new)
    (tmp_path / "tiny.yaml").write_text(recipe)
    env = {**os.environ, **stack.client_env(), "FTLINEAGE_WORK_DIR": str(tmp_path / "work"),
           "FTLINEAGE_CACHE_DIR": str(model_cache)}  # fmt: skip
    for key in ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key, None)  # the client never holds the store's keys: the server proxies artifacts
    return subprocess.Popen(
        [sys.executable, "-m", "ftlineage", "run", "--recipe", str(tmp_path / "tiny.yaml")],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def only_run(client: MlflowClient, experiment: str):
    (run,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return run


def database_dump(stack) -> str:
    """Every row of the tracking database, as ``pg_dump`` writes it."""
    cmd = [str(pg_bindir() / "pg_dump"), "-h", str(stack.pg_root), "-p", str(stack.pg_port),
           "-U", "ftlineage", "--data-only", "mlflow"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def bucket_objects(stack, prefix: str = "") -> dict[str, bytes]:
    s3, found = stack.s3(), {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return found


def test_the_job_logs_to_postgres_and_its_artifacts_land_in_the_object_store(stack, tmp_path, model_cache):
    job = stack_job(stack, tmp_path, model_cache, "stack-job")
    out, err = job.communicate(timeout=600)
    assert job.returncode in (0, 4), err[-3000:]
    client = MlflowClient(stack.tracking_uri)
    run = only_run(client, "stack-job")
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    prefix = f"mlflow/{run.info.experiment_id}/{run.info.run_id}/artifacts/"
    objects = bucket_objects(stack, prefix)
    names = {k[len(prefix) :] for k in objects}
    expected = {"gate/decision.json", "lineage/manifest.json", "audit/audit.json", "scores/candidate.json",
                "plots/checkpoints.png", "arena/arena.json"}  # fmt: skip
    assert expected <= names, sorted(names)
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"gate", "lineage", "audit"}
    assert not (tmp_path / "mlruns").exists()
    assert not (tmp_path / "mlartifacts").exists()
    steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "heldout/field_accuracy"))
    assert steps == [0, 2, 4, 6]

    # No password or key of the stack anywhere: params, tags, metrics, traces (the whole database),
    # artifacts (the whole bucket), the job's output and every service's log.
    texts = {"job stdout": out, "job stderr": err, "database": database_dump(stack)}
    texts |= {f"s3://{BUCKET}/{k}": v.decode("utf-8", "replace") for k, v in bucket_objects(stack).items()}
    for log in ("server.log", "s3.log"):
        texts[log] = (stack.root / log).read_text("utf-8", "replace")
    texts["postgresql log"] = (stack.pg_root / "server.log").read_text("utf-8", "replace")
    texts |= {str(p): p.read_text("utf-8", "replace") for p in (tmp_path / "work").rglob("*") if p.is_file()
              and p.suffix in (".json", ".jsonl", ".md", ".html", ".yaml", ".txt", ".log")}  # fmt: skip
    assert len(texts) > 20
    for secret in stack.secrets.values():
        leaks = [where for where, text in texts.items() if secret in text]
        assert not leaks, f"a stack secret appears in {leaks}"
