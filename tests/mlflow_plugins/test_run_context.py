"""The run-context provider tags runs started inside a project with a recipe."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from ftlineage import lineage, suites
from ftlineage.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, recipe_text: str | None = None) -> Path:
    (tmp_path / "recipes").mkdir()
    target = tmp_path / "recipes" / "healthcare_v17.yaml"
    if recipe_text is None:
        shutil.copy(ROOT / "recipes" / "healthcare_v17.yaml", target)
        shutil.copytree(ROOT / "recipes" / "data", tmp_path / "recipes" / "data")
    else:
        target.write_text(recipe_text)
    return target


def test_runs_started_in_a_project_carry_the_lineage_tags(store, tmp_path):
    recipe = load_recipe(_project(tmp_path))
    with mlflow.start_run() as run:
        pass
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert tags["ftlineage.recipe_sha"] == recipe.sha()
    assert tags["ftlineage.prompt_sha"] == lineage.sha256_prompt(recipe.prompt_template)
    assert tags["ftlineage.suite_sha"] == suites.load(recipe.suite).sha
    assert tags["ftlineage.code_sha"] == lineage.code_sha()


def test_a_broken_recipe_still_lets_the_run_start(store, tmp_path):
    _project(tmp_path, "name: [unclosed\n")
    with mlflow.start_run() as run:
        pass
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert "healthcare_v17.yaml" in tags["ftlineage.context_error"]
    assert "ftlineage.prompt_sha" not in tags


def test_outside_a_project_nothing_is_added(store, tmp_path):
    with mlflow.start_run() as run:
        pass
    assert not [k for k in mlflow.get_run(run.info.run_id).data.tags if k.startswith("ftlineage.")]


@pytest.mark.integration
def test_the_provider_loads_in_a_fresh_interpreter(store, tmp_path):
    """Guards the circular-import trap: MLflow skips a provider that imports mlflow at the top."""
    _project(tmp_path)
    code = (
        "import mlflow\n"
        "from mlflow.tracking.context.registry import resolve_tags\n"
        "print(sorted(k for k in resolve_tags() if k.startswith('ftlineage.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "ftlineage.prompt_sha" in out.stdout, out.stderr
