"""The pytest plugin run as users run it: pytest in a subprocess, against the demo job's model."""

import json
import math
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration
SLICE = "6"


@pytest.fixture(scope="module")
def model_dir(tiny_run):
    result, _ = tiny_run
    return result.out_dir / "export"


@pytest.fixture(scope="module")
def pinned(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pin") / "baseline.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftlineage",
            "baseline",
            "pin",
            "--model",
            str(model_dir),
            "--slice",
            SLICE,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def _gate(pytester, model_dir, baseline, *extra):
    path = pytester.path / "baseline.json"
    path.write_text(json.dumps(baseline))
    return pytester.runpytest_subprocess(
        "--eval-suite=healthcare_v17",
        f"--eval-model={model_dir}",
        f"--eval-slice={SLICE}",
        f"--eval-baseline={path}",
        "-p",
        "no:cacheprovider",
        *extra,
    )


def test_clean_candidate_passes_the_strict_gate(pytester, model_dir, pinned):
    res = _gate(pytester, model_dir, pinned, "--strict-regression")
    res.assert_outcomes(passed=6 + 12 + 1)
    res.stdout.fnmatch_lines(["*ftlineage eval: healthcare_v17*"])


def _plant(pinned, rel):
    """The baseline made ``rel`` better than the candidate on one tracked, nonzero metric."""
    from ftlineage import suites

    for rule in suites.load("healthcare_v17").gate_metrics():  # what the gate tracks without a recipe
        value = pinned["metrics"].get(rule.metric, math.nan)
        if value and not math.isnan(value):
            better = value * (1 + rel) if rule.direction == "higher" else value / (1 + rel)
            return rule.metric, {**pinned, "metrics": {**pinned["metrics"], rule.metric: better}}
    pytest.fail("no tracked metric is nonzero for the demo model")


def test_planted_two_percent_regression_fails_naming_the_metric(pytester, model_dir, pinned):
    name, baseline = _plant(pinned, 0.02)
    res = _gate(pytester, model_dir, baseline, "--strict-regression")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    res.assert_outcomes(passed=18, failed=1)
    res.stdout.fnmatch_lines([f"*REGRESSION {name}: candidate *, baseline *, threshold *"])
    small_name, small = _plant(pinned, 0.005)
    _gate(pytester, model_dir, small, "--strict-regression").assert_outcomes(passed=19)
    # without --strict-regression the regression is reported, not enforced
    _gate(pytester, model_dir, baseline).assert_outcomes(passed=19)


def test_slice_is_stable_across_runs(pytester, model_dir, pinned):
    def ids():
        res = _gate(pytester, model_dir, pinned, "--collect-only", "-q")
        return [ln for ln in res.stdout.lines if "eval::" in ln]

    first = ids()
    assert len(first) == 6 + 12 + 1
    assert ids() == first


def test_changed_since_runs_only_when_a_prompt_feeding_file_changed(pytester, model_dir, pinned, tiny_run):
    def git(*args):
        subprocess.run(["git", *args], cwd=pytester.path, check=True, capture_output=True)

    recipe = pytester.path / "recipe.yaml"
    recipe.write_text((tiny_run[0].out_dir.parents[1] / "tiny.yaml").read_text())
    git("init", "-q")
    git("-c", "user.email=a@b.c", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "base")
    git("add", "recipe.yaml")
    git("-c", "user.email=a@b.c", "-c", "user.name=t", "commit", "-q", "-m", "recipe")
    quiet = _gate(
        pytester,
        model_dir,
        pinned,
        f"--eval-recipe={recipe}",
        "--eval-changed-since=HEAD",
        "--strict-regression",
    )
    quiet.assert_outcomes(skipped=19)
    assert "Extract as JSON." in recipe.read_text()
    recipe.write_text(recipe.read_text().replace("Extract as JSON.", "Extract as JSON, please."))
    changed = _gate(pytester, model_dir, pinned, f"--eval-recipe={recipe}", "--eval-changed-since=HEAD")
    assert changed.parseoutcomes().get("skipped", 0) == 0


def test_registry_uri_works_as_the_model(pytester, model_dir, pinned, tiny_run, monkeypatch):
    from ftlineage.gate.promotion import register
    from ftlineage.tracking import MlflowRegistry
    from ftlineage.tracking._registry import log_pyfunc

    result, client = tiny_run
    template = (model_dir / "ftlineage_prompt_template.txt").read_text()
    uri = log_pyfunc(client, result.run_id, model_dir, template, 96)
    register(
        MlflowRegistry(client),
        name="ci-gate-demo",
        source=uri,
        run_id=result.run_id,
        tags={},
        description="test",
        alias="champion",
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", client.tracking_uri)
    path = pytester.path / "baseline.json"
    path.write_text(json.dumps(pinned))
    res = pytester.runpytest_subprocess(
        "--eval-suite=healthcare_v17",
        "--eval-model=models:/ci-gate-demo@champion",
        f"--eval-slice={SLICE}",
        f"--eval-baseline={path}",
        "--strict-regression",
        "-p",
        "no:cacheprovider",
    )
    res.assert_outcomes(passed=19)


def test_missing_model_or_bad_baseline_is_a_usage_error(pytester, model_dir):
    res = pytester.runpytest_subprocess("--eval-suite=healthcare_v17", "-p", "no:cacheprovider")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*--eval-suite needs --eval-model*"])
    bad = pytester.path / "b.json"
    bad.write_text("{}")
    res = pytester.runpytest_subprocess(
        "--eval-suite=healthcare_v17",
        f"--eval-model={model_dir}",
        f"--eval-baseline={bad}",
        "-p",
        "no:cacheprovider",
    )
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*b.json: not a valid baseline file*"])
