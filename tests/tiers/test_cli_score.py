"""``ftlineage score --tiers``: a tier scored alone, beside the model it was quantized from."""

from __future__ import annotations

import json

from ftlineage.cli import main


def test_score_tiers_prints_each_tier_with_size_and_fidelity(tiny_export, tiny_recipe, capsys):
    argv = ["score", str(tiny_export.folder), "--recipe", str(tiny_recipe), "--limit", "2", "--device", "cpu"]
    assert main([*argv, "--tiers", "int8,int2-g16"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["full_precision", "int8", "int2-g16"]
    assert out["int8"]["size_mb"] < out["full_precision"]["size_mb"]
    assert 0 <= out["int8"]["mean_kl"] < out["int2-g16"]["mean_kl"]
    assert "heldout/json_valid" in out["int8"]


def test_score_tiers_refuses_a_bad_tier_and_a_served_model(tiny_export, tiny_recipe, capsys):
    argv = ["score", str(tiny_export.folder), "--recipe", str(tiny_recipe), "--limit", "1"]
    assert main([*argv, "--tiers", "int3-x"]) == 2
    assert "--tiers 'int3-x': unknown tier 'int3-x'" in capsys.readouterr().err
    assert main([*argv, "--tiers", "int8", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "use --backend hf" in capsys.readouterr().err
