"""The candidate contract: what each kind needs, refuses, and how credentials are kept out."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ftlineage.candidates import CandidateSpec, public_url
from ftlineage.candidates._prompt import from_registry_template, parse_prompt, to_registry_template
from ftlineage.errors import RecipeError


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"kind": "model"}, "kind model needs path"),
        ({"kind": "endpoint", "base_url": "http://h/v1"}, "kind endpoint needs model"),
        ({"kind": "prompt"}, "kind prompt needs prompt"),
        ({"kind": "trained", "path": "x"}, "kind trained does not use path"),
        ({"kind": "model", "path": "x", "base_url": "http://h/v1"}, "does not use base_url"),
        ({"kind": "endpoint", "base_url": "http://u:pw@h/v1", "model": "m"}, "must not hold credentials"),
        ({"kind": "endpoint", "base_url": "http://h/v1?api_key=abc", "model": "m"}, "query string"),
        ({"kind": "endpoint", "base_url": "ftp://h", "model": "m"}, "http"),
        (
            {"kind": "endpoint", "base_url": "http://h", "model": "m", "api_key_env": "sk-abc123"},
            "names an env",
        ),
        ({"kind": "unknown"}, "trained"),
    ],
)
def test_each_kind_says_what_it_needs_or_refuses(given, message):
    with pytest.raises(ValidationError, match=message):
        CandidateSpec.model_validate(given)


def test_public_url_drops_credentials_and_secret_query_values():
    assert public_url("https://user:pw@api.example.com:8443/v1/?api-version=2024&sig=s3cr3t#x") == (
        "https://api.example.com:8443/v1?api-version=2024&sig=REDACTED"
    )


def test_registry_and_recipe_templates_round_trip():
    assert from_registry_template(to_registry_template("Q: {prompt}\nA:")) == "Q: {prompt}\nA:"
    assert from_registry_template("Hello {{ question }}!") == "Hello {prompt}!"
    assert from_registry_template("{{a}} and {{b}}") == "{{a}} and {{b}}"  # two variables: refused later


def test_a_chat_prompt_gives_its_system_and_user_turns():
    got = parse_prompt(
        "p", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{{q}}"}], "r"
    )
    assert (got.template, got.system) == ("{prompt}", "Be brief.")


def test_a_prompt_without_one_slot_is_refused_naming_it():
    with pytest.raises(RecipeError, match="r.yaml: prompt 'p' must contain one slot"):
        parse_prompt("p", "{{a}} and {{b}}", "r.yaml")


def test_a_trained_recipe_still_needs_a_corpus_and_endpoints_take_no_tiers(tmp_path):
    from ftlineage.recipe import load_recipe

    path = tmp_path / "r.yaml"
    from ftlineage.pipeline import prepare

    path.write_text("name: a\nsuite: healthcare_v17\nprompt_template: '{prompt}'\n")
    with pytest.raises(RecipeError, match="r.yaml: a trained candidate needs corpus"):
        prepare(path, None)
    path.write_text(
        path.read_text() + "candidate: {kind: endpoint, base_url: 'http://h/v1', model: m}\ntiers: [int8]\n"
    )
    with pytest.raises(RecipeError, match="none to quantize"):
        load_recipe(path)
