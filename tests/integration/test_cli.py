"""The CLI as a user runs it: one-line errors, distinct exit codes, no run left RUNNING."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.errors import EXIT_AUDIT_BLOCKED, EXIT_BAD_INPUT

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ftlineage", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _external_run(uri: str) -> str:
    """A RUNNING run, as `mlflow run` creates one before our process starts."""
    client = MlflowClient(uri)
    return client.create_run(client.create_experiment("ext")).info.run_id


@pytest.mark.parametrize(
    ("setup", "args", "pattern"),
    [
        (
            "bad_recipe",
            ["run", "--recipe", "bad.yaml"],
            r"bad\.yaml:\d+ \(training\.max_steps\): .*got 'lots'",
        ),
        ("none", ["run", "--suite", "nope"], r"unknown suite 'nope'"),
        ("no_prompt", ["run", "--recipe", "r.yaml"], r"c\.jsonl:2: row has no 'prompt'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_running_run(tmp_path, store, setup, args, pattern):
    if setup == "bad_recipe":
        text = (ROOT / "recipes/healthcare_v17.yaml").read_text()
        text, n = re.subn(r"(?m)^  max_steps: \d+$", "  max_steps: lots", text)
        assert n == 1  # the recipe must really be broken, whatever the current value
        text = text.replace("data/healthcare", str(ROOT / "recipes/data/healthcare"))
        (tmp_path / "bad.yaml").write_text(text)
    if setup == "no_prompt":
        (tmp_path / "c.jsonl").write_text('{"prompt": "a", "completion": "b"}\n{"completion": "b"}\n')
        recipe = (ROOT / "recipes/healthcare_v17.yaml").read_text()
        assert "  - data/healthcare_postcall_train.jsonl" in recipe
        recipe = recipe.replace("  - data/healthcare_postcall_train.jsonl", "  - c.jsonl")
        (tmp_path / "r.yaml").write_text(recipe)
    run_id = _external_run(store)
    proc = _cli(*args, cwd=tmp_path, env={"MLFLOW_RUN_ID": run_id})
    assert proc.returncode == EXIT_BAD_INPUT, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("ftlineage: error:")]
    assert len(lines) == 1, proc.stderr
    assert re.search(pattern, lines[0]), proc.stderr
    client = MlflowClient(store)
    assert client.get_run(run_id).info.status == "FAILED"
    statuses = {
        r.info.status for r in client.search_runs([e.experiment_id for e in client.search_experiments()])
    }
    assert "RUNNING" not in statuses


def test_contaminated_recipe_is_blocked_by_the_audit(tmp_path, store):
    proc = _cli("run", "--recipe", str(ROOT / "recipes/healthcare_v17_contaminated.yaml"), cwd=tmp_path)
    assert proc.returncode == EXIT_AUDIT_BLOCKED, proc.stderr[-2000:]
    assert "vendor_batch_7" in proc.stdout
    client = MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name("healthcare_v17_contaminated").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["ftlineage.decision"] == "blocked"
    assert run.data.tags["ftlineage.blocked_at"] == "audit"
    assert client.search_registered_models() == []
    # the failure feed: the refusal rows in one cluster whose fix names the source to drop
    files = {a.path for a in client.list_artifacts(run.info.run_id, "failures")}
    assert files == {"failures/feed.json", "failures/feed.html"}
    feed = json.loads(Path(client.download_artifacts(run.info.run_id, "failures/feed.json")).read_text())
    top = feed["clusters"][0]
    assert top["checks"] == {"audit/refusal_contamination": top["size"]}
    assert top["sources"] == {"vendor_batch_7": top["size"]}
    assert top["size"] == sum(c["size"] for c in feed["clusters"]) >= 100
    assert top["fix"]["rule"] == "audit-refusal-contamination"
    assert "drop or fix source 'vendor_batch_7'" in top["fix"]["text"]
    assert "c1 [" in proc.stdout
    assert "drop or fix source 'vendor_batch_7'" in proc.stdout
    page = Path(client.download_artifacts(run.info.run_id, "failures/feed.html")).read_text()
    assert "vendor_batch_7" in page
    # the CLI reads the same run back; a training row is never frozen into a suite
    again = _cli("failures", run.info.run_id, "--no-log", "--out", "f", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "audit/refusal_contamination" in again.stdout
    assert json.loads((tmp_path / "f" / "feed.json").read_text())["clusters"][0]["size"] == top["size"]
    nope = str(tmp_path / "nope")
    frozen = _cli("failures", "freeze", run.info.run_id, "c1", "--suite", nope, cwd=tmp_path)
    assert frozen.returncode == 2
    assert "unknown suite" in frozen.stderr


def test_suite_verify_cli(tmp_path):
    proc = _cli("suite", "verify", "healthcare_v17", cwd=tmp_path)
    assert proc.returncode == 0
    assert "OK" in proc.stdout


def test_mlflow_run_reuses_its_run(tmp_path, store):
    """`mlflow run` creates the run; the job must log into it, not a new one."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "run",
            str(ROOT),
            "-P",
            f"recipe={ROOT / 'recipes/healthcare_v17_contaminated.yaml'}",
            "--env-manager",
            "local",
            "--experiment-name",
            "proj",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0  # blocked → non-zero
    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("proj").experiment_id])
    assert len(runs) == 1
    assert runs[0].data.tags["ftlineage.decision"] == "blocked"
    # `mlflow run` marks any non-zero exit FAILED (3.17 compares the status string with enum
    # ints, so it overrides our FINISHED); either way the run is terminated, never RUNNING.
    assert runs[0].info.status in ("FINISHED", "FAILED")


def test_audit_cli_contract_exit_codes_and_files(tmp_path):
    data = ROOT / "recipes" / "data"
    ok = _cli(
        "audit", str(data / "healthcare_postcall_train.jsonl"), "--no-semantic", "--out", "a", cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    assert {p.name for p in (tmp_path / "a").iterdir()} >= {
        "audit.json",
        "flags.jsonl",
        "clean.jsonl",
        "report.html",
    }
    blocked = _cli(
        "audit",
        str(data / "healthcare_postcall_train.jsonl"),
        str(data / "vendor_batch_7.jsonl"),
        "--recipe",
        str(ROOT / "recipes" / "healthcare_v17.yaml"),
        "--out",
        "b",
        cwd=tmp_path,
    )
    assert blocked.returncode == EXIT_AUDIT_BLOCKED
    assert "vendor_batch_7" in blocked.stdout
    bad = _cli("audit", "missing.jsonl", "--out", "c", cwd=tmp_path)
    assert bad.returncode == EXIT_BAD_INPUT
    assert re.fullmatch(r"ftlineage: error: missing\.jsonl: corpus not found.*\n", bad.stderr)


def test_gate_cli_on_a_runs_score_files(tiny_run, tmp_path):
    import json

    result, _ = tiny_run
    out = result.out_dir
    args = [
        "--candidate",
        str(out / "scores/candidate.json"),
        "--baseline",
        str(out / "scores/baseline.json"),
        "--arena",
        str(out / "arena/arena.json"),
    ]
    run = _cli("gate", *args, "--out", "d.json", cwd=tmp_path)
    assert run.returncode == (0 if result.decision == "pass" else 4), run.stdout + run.stderr
    decision = json.loads((tmp_path / "d.json").read_text())
    assert decision["checks"][0]["name"] == "suite/digest"
    assert decision["checks"][0]["passed"]
    assert decision["decision"] == result.decision
    other = json.loads((out / "scores/baseline.json").read_text()) | {"suite_sha": "f" * 64}
    (tmp_path / "b.json").write_text(json.dumps(other))
    mismatch = _cli("gate", *args[:2], "--baseline", str(tmp_path / "b.json"), *args[4:], cwd=tmp_path)
    assert mismatch.returncode == 4
    assert "suite digest mismatch" in mismatch.stdout
    (tmp_path / "bad.json").write_text("{}")
    bad = _cli("gate", *args[:2], "--baseline", str(tmp_path / "bad.json"), *args[4:], cwd=tmp_path)
    assert bad.returncode == EXIT_BAD_INPUT
    assert "bad.json: not a valid scores file" in bad.stderr


def test_train_with_seeds_reports_the_spread_in_a_parent_run(tiny_recipe, store, capsys):
    from mlflow.tracking import MlflowClient

    from ftlineage.cli import main

    assert main(["train", str(tiny_recipe), "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "(seeds (3, 4))" in out
    assert "drift/overall" in out
    client = MlflowClient()
    exp = client.get_experiment_by_name("tiny")
    (parent,) = client.search_runs([exp.experiment_id], "attributes.run_name = 'tiny-seeds'")
    children = client.search_runs([exp.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.data.tags["ftlineage.seed"] for r in children) == ["3", "4"]
    assert "seeds/drift/overall/sd" in parent.data.metrics
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "seeds")] == ["seeds/seeds.json"]


def test_diff_names_the_prompt_sha_and_lists_flipped_cases(tiny_recipe, capable_base, store, capsys):
    """Two runs that differ only in the prompt template, from a base that can do the drift cases."""
    from mlflow.tracking import MlflowClient

    from ftlineage.cli import main
    from ftlineage.pipeline import run_job

    text = tiny_recipe.read_text()
    text = text.replace("name: builtin:tiny-llama", f"name: {capable_base}")
    training = "  eval_limit: 8\n  method: full\n  learning_rate: 0.02\n  stop_on_drift: false"
    text = text.replace("  eval_limit: 4", training)
    tiny_recipe.write_text(text)
    a = run_job(str(tiny_recipe), None)
    tiny_recipe.write_text(text.replace("Extract as JSON.", "Return the fields as JSON."))
    b = run_job(str(tiny_recipe), None)
    capsys.readouterr()
    assert main(["diff", a.run_id, b.run_id]) == 0
    out = capsys.readouterr().out
    assert "changed inputs: prompt_sha (also: model_sha, recipe_sha)" in out
    assert "heldout/field_accuracy" in out
    assert "flipped cases (" in out
    assert "input: " in out
    artifacts = [x.path for x in MlflowClient().list_artifacts(b.run_id, "diff")]
    assert artifacts == [f"diff/diff-{a.run_id[:8]}-{b.run_id[:8]}.html"]
    assert main(["diff", a.run_id, "no-such-run"]) == 2


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("name: builtin:tiny-llama", "name: /nonexistent", "(base_model.name): no model folder '/nonexist"),
        ("name: builtin:tiny-llama", "name: someorg/not-cached", "nor in the local Hugging Face cache"),
        ("lora: {r: 32, alpha: 64, dropout: 0.0}", "lora: {r: 32, target_modules: [q_proj, c_attn]}",
         "'c_attn' is not a module of builtin:tiny-llama (llama)"),
        ("  judge: rubric\n", "  judge: nosuch\n", "unknown judge 'nosuch'; valid judges: "),
        ("seed: 17\n", "seed: 17\n# hook token ghp_" + "x1Y2" * 9 + "\n", "looks like a credential (github"),
    ],
)
def test_what_can_be_checked_is_checked_before_the_run_exists(
    tmp_path, store, monkeypatch, capsys, old, new, pattern
):
    from ftlineage.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    text = (ROOT / "recipes/healthcare_v17.yaml").read_text()
    assert old in text
    text = text.replace(old, new).replace("data/healthcare", str(ROOT / "recipes/data/healthcare"))
    (tmp_path / "r.yaml").write_text(text)
    assert main(["run", "--recipe", "r.yaml"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert pattern in err, err
    assert "ghp_x1Y2x1Y2" not in err
    client = MlflowClient(store)
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []
