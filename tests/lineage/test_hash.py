import hashlib

import pytest
import torch

from ftlineage import lineage


def test_json_digest_ignores_key_order_but_not_values():
    a = lineage.sha256_json({"a": 1, "b": [1, 2]})
    assert a == lineage.sha256_json({"b": [1, 2], "a": 1})
    assert a != lineage.sha256_json({"a": 1, "b": [2, 1]})
    assert len(a) == 64


def test_domain_separates_equal_content():
    assert lineage.sha256_json({"x": 1}, domain="a") != lineage.sha256_json({"x": 1}, domain="b")


def test_rows_digest_covers_every_row():
    rows = [{"id": str(i), "prompt": "p"} for i in range(20_000)]
    changed = [dict(r) for r in rows]
    changed[-1]["prompt"] = "q"  # the very last row: no sampling, no truncation
    assert lineage.sha256_rows(rows) != lineage.sha256_rows(changed)


def test_file_digest_is_plain_sha256(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"hello" * 1000)
    assert lineage.sha256_file(f) == hashlib.sha256(b"hello" * 1000).hexdigest()


def test_state_dict_digest_sees_one_changed_weight():
    sd = {"w": torch.zeros(3, 3), "b": torch.ones(3)}
    before = lineage.sha256_state_dict(sd)
    sd["w"][2, 2] = 1e-6
    assert lineage.sha256_state_dict(sd) != before


def test_nan_is_refused_in_canonical_json():
    with pytest.raises(ValueError, match="Out of range float"):
        lineage.canonical_json({"x": float("nan")})


def test_manifest_tags_are_prefixed_full_shas():
    m = lineage.LineageManifest(prompt_sha="a" * 64, dataset_sha="b" * 64, corpus_sha="c" * 64,
                                base_model_sha="d" * 64, suite_sha="e" * 64, code_sha="f" * 64,
                                recipe_sha="0" * 64, seed=1)
    tags = m.tags()
    assert tags["ftlineage.prompt_sha"] == "a" * 64
    assert "ftlineage.model_sha" not in tags  # empty values are left out
