"""The example GitHub workflow is valid workflow syntax and calls options that exist."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "eval-gate.yml"


def _schema_check(path):
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflow_passes_the_github_workflow_schema(tmp_path):
    pytest.importorskip("check_jsonschema")
    ok = _schema_check(WORKFLOW)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    assert _schema_check(broken).returncode == 1  # the check can fail


def test_workflow_calls_the_plugin_options_that_exist():
    from ftlineage.ci import pytest_plugin

    defined = set(re.findall(r'addoption\(\s*"(--[a-z-]+)"', Path(pytest_plugin.__file__).read_text()))
    step = WORKFLOW.read_text().split("name: Eval gate (strict)", 1)[1].split("- name:", 1)[0]
    used = set(re.findall(r"(--[a-z][a-z-]+)", step)) - {"--junitxml"}
    assert used == {
        "--eval-suite",
        "--eval-model",
        "--eval-slice",
        "--eval-baseline",
        "--eval-changed-since",
        "--strict-regression",
    }
    assert used <= defined
