"""Tier names in a recipe: short forms, mappings, and the errors a typo gets."""

from __future__ import annotations

import pytest

from ftlineage.errors import RecipeError
from ftlineage.recipe import load_recipe
from ftlineage.tiers import TierGateSpec, TierSpec
from ftlineage.tiers._spec import check_group


@pytest.mark.parametrize(
    ("short", "fields"),
    [
        ("int8", {"quantizer": "torchao", "bits": 8, "group_size": None}),
        ("int4", {"quantizer": "torchao", "bits": 4, "group_size": 32}),
        ("INT4-g128", {"name": "int4-g128", "bits": 4, "group_size": 128}),
        ("int8-g64", {"bits": 8, "group_size": 64}),
        ("int2", {"bits": 2, "group_size": 32}),
        ("nf4", {"quantizer": "bitsandbytes", "bits": 4, "scheme": "nf4"}),
        ("bnb-int8", {"quantizer": "bitsandbytes", "bits": 8}),
    ],
)
def test_short_names(short, fields):
    spec = TierSpec.model_validate(short)
    assert {k: getattr(spec, k) for k in fields} == fields


def _recipe(tiny_recipe, text):
    tiny_recipe.write_text(tiny_recipe.read_text() + text)
    return load_recipe(tiny_recipe)


def test_recipe_tiers_as_a_list_a_string_or_mappings(tiny_recipe):
    assert [t.name for t in _recipe(tiny_recipe, "tiers: [int8, int4-g16]\n").tiers] == ["int8", "int4-g16"]


def test_recipe_tiers_as_one_string(tiny_recipe):
    assert [t.name for t in _recipe(tiny_recipe, "tiers: int8, int2-g16\n").tiers] == ["int8", "int2-g16"]


def test_recipe_tier_mapping_and_rule(tiny_recipe):
    r = _recipe(
        tiny_recipe,
        "tiers:\n  - {name: w3, bits: 3, group_size: 16}\n"
        "tier_gate: {max_loss: 0.1, bound: strict, max_kl: 0.2}\n",
    )
    assert (r.tiers[0].bits, r.tiers[0].group_size) == (3, 16)
    assert r.tier_gate == TierGateSpec(max_loss=0.1, bound="strict", max_kl=0.2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tiers: [int9]\n", r"tiny.yaml:\d+.*unknown tier 'int9'.*int<b>-g<k>"),
        ("tiers: [int8, int8]\n", r"tier 'int8' is listed twice"),
        ("tiers: [{name: My Tier}]\n", r"tier name 'My Tier' must be lower-case"),
        ("tiers: [{name: x, bits: 12}]\n", r"bits"),
        ("tier_gate: {max_los: 0.1}\n", r"max_los"),
    ],
)
def test_bad_tiers_name_the_file_and_the_fix(tiny_recipe, text, message):
    with pytest.raises(RecipeError, match=message):
        _recipe(tiny_recipe, text)


def test_a_group_must_divide_every_layer_width():
    class Config:
        hidden_size, intermediate_size, num_attention_heads, head_dim = 576, 1536, 9, 64

    check_group(TierSpec.model_validate("int4-g64"), Config())
    with pytest.raises(
        ValueError, match=r"group size 128 does not divide the model's hidden_size 576.*int4-g64"
    ):
        check_group(TierSpec.model_validate("int4-g128"), Config())
    check_group(TierSpec.model_validate("int8"), Config())  # per channel: any width
