"""torchao through the quantizer contract, on the tiny base model; bitsandbytes refuses a CPU."""

from __future__ import annotations

import pytest

from ftlineage.errors import BadInputError, RecipeError
from ftlineage.testing import QuantizerContract
from ftlineage.tiers import TierSpec, get_quantizer, weights_sha, weights_size


@pytest.fixture
def source(tiny_export):
    return tiny_export.folder


class TestTorchAo(QuantizerContract):
    tiers = ("int8", "int4-g16", {"name": "two-bit", "bits": 2, "group_size": 16})
    refused = "nf4"
    max_kl = 2.0  # 2-bit weights of a 48-wide model are far off, but not noise

    def quantizer(self):
        return get_quantizer("torchao")


def test_int8_is_smaller_on_disk_and_closer_than_int2(source, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ftlineage.tiers import fidelity

    q = get_quantizer("torchao")
    full = AutoModelForCausalLM.from_pretrained(str(source)).eval()
    tok = AutoTokenizer.from_pretrained(str(source))
    texts = [("Extract as JSON.\n", "Ann Lee called on Friday at 3 pm about a refund.")] * 2
    fid = {}
    for name in ("int8", "int2-g16"):
        (tmp_path / name).mkdir()
        fid[name] = fidelity(
            full, q.quantize(source, TierSpec.model_validate(name), tmp_path / name, device="cpu"), tok, texts
        )
    assert weights_size(tmp_path / "int8") < 0.6 * weights_size(source)
    assert fid["int8"].mean_kl < fid["int2-g16"].mean_kl
    assert fid["int8"].top1_agreement >= fid["int2-g16"].top1_agreement
    assert weights_sha(tmp_path / "int8") != weights_sha(tmp_path / "int2-g16")


def test_identical_models_have_zero_kl_and_full_agreement(tiny_export):
    from ftlineage.tiers import fidelity

    fid = fidelity(tiny_export.model, tiny_export.model, tiny_export.tokenizer, [("a b c", " d e f g")])
    assert fid.mean_kl == pytest.approx(0.0, abs=1e-6)
    assert fid.top1_agreement == 1.0
    assert fid.positions >= 2


def test_bitsandbytes_needs_cuda():
    with pytest.raises(BadInputError, match=r"tier 'nf4'.*CUDA"):
        get_quantizer("bitsandbytes").check(TierSpec.model_validate("nf4"), "cpu")


def test_unknown_quantizer_lists_the_valid_ones():
    with pytest.raises(BadInputError, match=r"unknown quantizer 'gptq'.*bitsandbytes, torchao"):
        get_quantizer("gptq")


def test_a_recipe_with_an_impossible_tier_is_refused_before_anything_runs(tiny_recipe, store):
    from ftlineage.pipeline import prepare

    tiny_recipe.write_text(tiny_recipe.read_text() + "tiers: [int8, nf4]\n")
    with pytest.raises(RecipeError, match=r"tiny.yaml \(tiers\): tier 'nf4'.*CUDA"):
        prepare(tiny_recipe, None)


def test_a_group_size_that_does_not_divide_a_layer_is_refused_with_one_that_does(tiny_recipe, store):
    from ftlineage.pipeline import prepare

    tiny_recipe.write_text(tiny_recipe.read_text() + "tiers: [int4]\n")  # groups of 32; the model is 48 wide
    with pytest.raises(
        RecipeError, match=r"group size 32 does not divide the model's hidden_size 48.*int4-g16"
    ):
        prepare(tiny_recipe, None)
