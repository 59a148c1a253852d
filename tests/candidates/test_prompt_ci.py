"""Prompt CI: only the recipe whose prompt changed runs; head and base are paired on the same items."""

from __future__ import annotations

import subprocess

import pytest

from ftlineage.ci._paired import compare, needed, paired
from ftlineage.scoring import CaseScore
from tests.candidates.conftest import TEMPLATE, write_recipe

pytestmark = pytest.mark.integration


def _git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.email=a@b.c", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _two_recipes(pytester, cities, template_a: str):
    for name in ("alpha", "beta"):
        folder = pytester.path / name
        folder.mkdir()
        path = write_recipe(
            folder, cities, base=cities.taught, template=template_a if name == "alpha" else TEMPLATE
        )
        path.rename(folder / f"{name}.yaml")
    _git(pytester.path, "init", "-q")
    _git(pytester.path, "add", ".")
    _git(pytester.path, "commit", "-q", "-m", "recipes")


def _ci(pytester):
    return pytester.runpytest_subprocess(
        "--eval-recipes=*/*.yaml",
        "--eval-changed-since=HEAD",
        "--eval-slice=16",
        "-p",
        "no:cacheprovider",
        "-rs",
    )


def _edit(pytester, name, old, new):
    path = pytester.path / name / f"{name}.yaml"
    text = path.read_text()
    assert old.replace("\n", "\\n") in text
    path.write_text(text.replace(old.replace("\n", "\\n"), new.replace("\n", "\\n")))


def test_changing_one_recipes_prompt_runs_only_that_suite_and_a_fix_wins(pytester, cities, model_cache):
    _two_recipes(pytester, cities, "{prompt}")
    quiet = _ci(pytester)
    quiet.assert_outcomes(skipped=2)
    _edit(pytester, "alpha", "{prompt}", TEMPLATE)  # the prompt the model was taught: better
    run = _ci(pytester)
    run.assert_outcomes(passed=1, skipped=1)
    out = run.stdout.str()
    assert "beta.yaml: no recipe, prompt or suite file changed since HEAD" in out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("alpha.yaml (cities_v1")]
    assert "-> better; decided" in line


def test_a_prompt_that_breaks_the_format_fails_the_ci(pytester, cities, model_cache):
    _two_recipes(pytester, cities, TEMPLATE)
    _edit(pytester, "alpha", TEMPLATE, "Tell me: {prompt} ->")
    run = _ci(pytester)
    run.assert_outcomes(failed=1, skipped=1)
    assert "-> worse" in run.stdout.str()


def _case(i: int, value: float) -> CaseScore:
    return CaseScore(id=str(i), part="heldout", family="", scores={"m": value}, output="")


def test_wins_losses_ties_and_the_items_a_decision_needs():
    head = [_case(i, v) for i, v in enumerate([1, 1, 0, 0.5, float("nan")])]
    base = [_case(i, v) for i, v in enumerate([0, 1, 1, 0.5, 1])]
    assert compare(head, base, lambda c: c.scores["m"]) == (1, 1, 2, 1)
    assert needed(1, 1) is None  # equal wins and losses never decide
    assert needed(9, 0) == 0
    small = paired("r", "s", "m", (3, 1, 0, 0), 0.95)
    assert small.verdict == "undecided"
    assert small.needed
    assert small.needed > 0
    grown = paired("r", "s", "m", (3 * (4 + small.needed) // 4, (4 + small.needed) // 4, 0, 0), 0.95)
    assert grown.verdict == "better"
