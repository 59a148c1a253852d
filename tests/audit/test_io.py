import json

import pytest

from ftlineage import audit
from ftlineage.errors import CorpusError
from ftlineage.recipe import AuditPolicy

from .conftest import run

GOOD = {"prompt": "p", "completion": "c"}


def test_malformed_rows_are_skipped_counted_and_line_numbered(tmp_path):
    lines = [json.dumps({**GOOD, "prompt": f"row {i}"}) for i in range(5)]
    lines[1] = '{"prompt": "x", "completion": '  # bad JSON
    lines[2] = json.dumps({"prompt": "only prompt"})  # missing field
    lines[3] = json.dumps({"prompt": 3, "completion": "c"})  # wrong type
    lines.insert(4, json.dumps({"prompt": "x" * (2 << 20), "completion": "c"}))  # oversized row
    lines.insert(5, "[1, 2]")  # not an object
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result, _, clean = run([path], tmp_path / "out", suite={})
    rep = result.report
    assert rep.rows_malformed == 5
    assert rep.rows_in == 2
    assert sorted(clean) == ["bad-1", "bad-7"]
    where = " | ".join(rep.malformed_examples)
    for ln in (2, 3, 4, 5, 6):
        assert f"bad.jsonl:{ln}:" in where
    assert "invalid JSON" in where
    assert "over 1,000,000 bytes" in where
    assert "must be a string" in where


def test_a_50_mb_row_is_skipped_without_reading_it_whole(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as fh:
        fh.write(json.dumps(GOOD) + "\n")
        fh.write('{"prompt": "' + "a" * (50 << 20) + '", "completion": "c"}\n')
        fh.write(json.dumps(GOOD | {"prompt": "q"}) + "\n")
    result, _, clean = run([path], tmp_path / "out", suite={})
    assert result.report.rows_malformed == 1
    assert len(clean) == 2


def test_nothing_valid_is_a_bad_input_error_naming_the_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("not json\n")
    with pytest.raises(CorpusError, match=r"x\.jsonl.*no valid row.*x\.jsonl:1"):
        audit.audit_corpus([path], AuditPolicy(semantic=False), suite_prompts={}, seed=0, progress=False)


def test_unknown_format_lists_the_valid_ones(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n")
    with pytest.raises(CorpusError, match=r"\.jsonl, \.parquet or a saved"):
        audit.audit_corpus([path], AuditPolicy(), suite_prompts={}, seed=0)


def test_parquet_and_saved_hf_dataset_give_the_same_flags_as_jsonl(tmp_path):
    datasets = pytest.importorskip("datasets")
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            "id": f"r{i}",
            "prompt": f"question number {i % 7} about the invoice",
            "completion": "ok",
            "source": "s",
            "label": None,
        }
        for i in range(40)
    ]
    rows[3]["prompt"] += " mail ann.lee@corp.com"
    jl = tmp_path / "c.jsonl"
    jl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "c.parquet", row_group_size=16)
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "hf"))
    outs = [
        run([p], tmp_path / f"o{i}", suite={})[1]
        for i, p in enumerate((jl, tmp_path / "c.parquet", tmp_path / "hf"))
    ]
    assert outs[0] == outs[1] == outs[2]
    assert "pii_email" in outs[0]["r3"]["flags"]
    assert sum("exact_duplicate" in e["flags"] for e in outs[0].values()) == 39
