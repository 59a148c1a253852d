from pathlib import Path

import pytest

from ftlineage.errors import RecipeError
from ftlineage.recipe import load_recipe

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_recipes_load_with_paths_resolved():
    r = load_recipe(ROOT / "recipes" / "healthcare_v17.yaml")
    assert r.suite == "healthcare_v17"
    assert all(p.is_file() for p in r.corpus)
    assert r.render("X").count("X") == 1
    assert len(r.sha()) == 64


def test_recipe_sha_does_not_depend_on_checkout_location(tmp_path):
    src = (ROOT / "recipes" / "healthcare_v17.yaml").read_text()
    (tmp_path / "r.yaml").write_text(src)
    assert load_recipe(tmp_path / "r.yaml").sha() == load_recipe(ROOT / "recipes/healthcare_v17.yaml").sha()


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("name: x\nsuite: s\ncorpus: [a.jsonl]\nprompt_template: '{prompt}'\ntraining:\n  max_stepz: 3\n",
         r"r\.yaml:6 \(training\.max_stepz\): unknown key"),
        ("name: x\nsuite: s\ncorpus: [a.jsonl]\nprompt_template: '{prompt}'\ntraining:\n  max_steps: -3\n",
         r"r\.yaml:6 \(training\.max_steps\): .*greater than 0 but got -3"),
        ("name: x\nsuite: s\ncorpus: [a.jsonl]\nprompt_template: 'no slot'\n",
         r"r\.yaml:4 \(prompt_template\): .*\{prompt\}"),
        ("name: x\nsuite: s\nprompt_template: '{prompt}'\n", r"\(corpus\): required key is missing"),
        ("name: x\n  suite: [\n", r"r\.yaml:\d+: invalid YAML"),
        ("- a\n- b\n", r"r\.yaml:1: a recipe must be a YAML mapping"),
    ],
)
def test_malformed_recipe_names_file_line_key_and_fix(tmp_path, text, pattern):
    f = tmp_path / "r.yaml"
    f.write_text(text)
    with pytest.raises(RecipeError, match=pattern) as info:
        load_recipe(f)
    assert "\n" not in str(info.value)


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="recipe not found"):
        load_recipe(tmp_path / "nope.yaml")
