from pathlib import Path

import pytest

from ftlineage.errors import RecipeError
from ftlineage.recipe import load_recipe

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_recipes_load_with_paths_resolved():
    r = load_recipe(ROOT / "recipes" / "healthcare_v17.yaml")
    assert r.suite == "healthcare_v17"
    assert all(p.is_file() for p in r.corpus)
    assert r.prompt_template.count("{prompt}") == 1
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
        ("suite: s\nprompt_template: '{prompt}'\n", r"\(name\): required key is missing"),
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


BASE = "name: x\nsuite: s\ncorpus: [a.jsonl]\nprompt_template: '{prompt}'\n"


def _bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return BASE + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (_bomb(9), r"r\.yaml:6: invalid recipe: YAML aliases"),  # a billion laughs in ~1 KB
        (BASE + "seed: 1\nseed: 2\n", r"r\.yaml:6: invalid recipe: duplicate key 'seed'"),
        (BASE + "training:\n  max_steps: 3\n  max_steps: 4\n", r"r\.yaml:7: .*duplicate key 'max_steps'"),
        (BASE.encode() + b"# caf\xe9\n", r"r\.yaml:5: the recipe is not UTF-8"),
        (BASE + "gate: " + "[" * 5000 + "]" * 5000 + "\n", r"nested deeper than 50 levels"),
        (BASE + "arena:\n  judge: openai\n  judge_options: {api_key: sk-1}\n", r"judge_options.*api_key_env"),
    ],
)
def test_hostile_or_mistyped_recipes_are_refused_in_one_line(tmp_path, data, pattern):
    import resource
    import time

    f = tmp_path / "r.yaml"
    f.write_bytes(data if isinstance(data, bytes) else data.encode())
    start, rss = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(RecipeError, match=pattern) as info:
        load_recipe(f)
    assert "\n" not in str(info.value)
    assert time.monotonic() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 200_000  # KiB: no expansion


@pytest.mark.parametrize("path", sorted((ROOT / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_recipe_loads(path):
    recipe = load_recipe(path)
    assert recipe.candidate.kind in ("trained", "model", "endpoint", "prompt")
    if recipe.candidate.kind == "prompt" and not str(recipe.candidate.prompt).startswith("prompts:/"):
        assert (path.parent / str(recipe.candidate.prompt)).is_file()


def test_a_relative_model_folder_resolves_against_the_recipe(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "r.yaml"
    head = "name: a\nsuite: healthcare_v17\nprompt_template: '{prompt}'\n"
    path.write_text(head + "base_model: {name: ../m}\n")
    assert load_recipe(path).base_model.name == str(tmp_path / "m")
    path.write_text(head + "base_model: {name: org/m}\n")
    assert load_recipe(path).base_model.name == "org/m"  # a hub id stays as written
