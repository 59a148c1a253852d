"""``ftlineage suite new/lock/verify/show`` from plain JSONL files, and one-line errors for bad suites."""

import json
import re

import pytest

from ftlineage import suites
from ftlineage.cli import main

ROWS = [
    {"id": f"r{i}", "prompt": f"Tenant message {i}: the {w} is broken.", "reference": lab}
    for i, (w, lab) in enumerate(
        [("heater", "maintenance"), ("bill", "billing"), ("door", "maintenance")] * 4
    )
]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _new(tmp_path, capsys, *extra, rows=ROWS):
    held = _jsonl(tmp_path / "cases.jsonl", rows)
    code = main(["suite", "new", str(tmp_path / "s"), "--name", "routing_v1", "--heldout", str(held), *extra])
    return code, capsys.readouterr()


def test_new_writes_a_locked_suite_with_contract_metric_names(tmp_path, capsys):
    code, out = _new(
        tmp_path, capsys, "--scorer", "exact_match", "--scorer", "label:labels=[billing,maintenance]"
    )
    assert code == 0, out.err
    suite = suites.load(str(tmp_path / "s"))
    assert (tmp_path / "s" / "heldout.jsonl").read_bytes() == (tmp_path / "cases.jsonl").read_bytes()
    assert f"suite sha256 {suite.sha}" in out.out
    metrics = suite.produced_metrics()
    assert {
        "heldout/exact_match",
        "heldout/label.accuracy",
        "heldout/label.macro_f1",
        "drift/overall",
        "drift/multi_turn",
        "safety/refusal_rate",
    } <= set(metrics)
    assert len(suite.drift) >= 250  # general_v1 by default
    assert suite.arena == suite.heldout  # no --arena: the held-out cases are the pool
    assert main(["suite", "verify", str(tmp_path / "s")]) == 0
    assert main(["suite", "show", str(tmp_path / "s")]) == 0
    shown = capsys.readouterr().out
    assert "heldout: 12 cases" in shown
    assert "scorer label" in shown
    assert suite.sha in shown


def test_messages_cases_and_an_arena_pool(tmp_path, capsys):
    rows = [
        {
            "id": f"m{i}",
            "messages": [{"role": "system", "content": "Route it."}, {"role": "user", "content": f"msg {i}"}],
            "reference": "x",
        }
        for i in range(4)
    ]
    arena = _jsonl(tmp_path / "arena.jsonl", [{"id": f"a{i}", "prompt": f"p{i}"} for i in range(5)])
    code, out = _new(tmp_path, capsys, "--scorer", "json_valid", "--arena", str(arena), rows=rows)
    assert code == 0, out.err
    suite = suites.load(str(tmp_path / "s"))
    assert suite.heldout[0].input_text == "System: Route it.\nUser: msg 0"
    assert len(suite.arena) == 5
    assert suite.spec("arena").scorers[0].name == "json_valid"


def test_lock_is_extend_only_under_one_version(tmp_path, capsys):
    assert _new(tmp_path, capsys, "--scorer", "exact_match")[0] == 0
    cases = tmp_path / "s" / "heldout.jsonl"
    with cases.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "new", "prompt": "appended", "reference": "ok"}) + "\n")
    assert main(["suite", "lock", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    lines = cases.read_text().splitlines()
    lines[1] = json.dumps({"id": "r1", "prompt": "edited", "reference": "billing"})
    cases.write_text("\n".join(lines) + "\n")
    assert main(["suite", "lock", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "case 'r1' in heldout.jsonl changed under the same version 1" in err
    assert "bump 'version'" in err
    assert len(err.strip().splitlines()) == 1
    cases.write_text("\n".join(lines[2:]) + "\n")
    assert main(["suite", "lock", str(tmp_path / "s")]) == 2
    assert "case 'r0' was removed" in capsys.readouterr().err
    meta = tmp_path / "s" / "suite.yaml"
    meta.write_text(meta.read_text().replace("version: 1", "version: 2"))
    assert main(["suite", "lock", str(tmp_path / "s")]) == 0


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        (
            [{"id": "a", "reference": "x"}],
            ["--scorer", "exact_match"],
            r"cases\.jsonl:1: case 'a' needs exactly one of 'prompt' .* or 'messages'",
        ),
        (
            [{"id": "a", "prompt": "p"}, {"id": "a", "prompt": "q"}],
            ["--scorer", "exact_match"],
            r"cases\.jsonl:2: duplicate case id 'a' \(first on line 1\)",
        ),
        (ROWS, ["--scorer", "exact_mtch"], r"unknown scorer 'exact_mtch': valid scorers are .*exact_match"),
        (ROWS, ["--scorer", "numeric:tolerance=lots"], r"bad options for scorer 'numeric'"),
        (ROWS, [], r"name at least one --scorer"),
        (
            [{"id": "a", "messages": [{"role": "robot", "content": "x"}]}],
            ["--scorer", "exact_match"],
            r"cases\.jsonl:1: messages\[0\] has role 'robot'; valid roles are system, user, assistant, tool",
        ),
    ],
)
def test_bad_suites_are_one_line_errors_naming_file_line_and_fix(tmp_path, capsys, rows, args, message):
    import re

    code, out = _new(tmp_path, capsys, *args, rows=rows)
    assert code == 2
    assert len(out.err.strip().splitlines()) == 1, out.err
    assert re.search(message, out.err), out.err


def test_a_suite_yaml_naming_an_unknown_scorer_names_the_file_and_part(tmp_path, capsys):
    assert _new(tmp_path, capsys, "--scorer", "exact_match")[0] == 0
    meta = tmp_path / "s" / "suite.yaml"
    meta.write_text(meta.read_text().replace("name: exact_match", "name: exactmatch"))
    assert main(["suite", "lock", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"suite\.yaml:\d+: parts\.heldout\.scorers\.0: unknown scorer 'exactmatch'", err), err


def test_a_recipe_gating_a_metric_the_suite_does_not_produce_is_refused(tmp_path, capsys):
    from ftlineage.errors import RecipeError
    from ftlineage.recipe import MetricRule, Recipe, bind_suite

    assert _new(tmp_path, capsys, "--scorer", "exact_match")[0] == 0
    suite = suites.load(str(tmp_path / "s"))
    recipe = Recipe(
        name="r", suite=str(tmp_path / "s"), corpus=(tmp_path / "c.jsonl",), prompt_template="{prompt}"
    )
    bound = bind_suite(recipe, suite, "r.yaml")
    assert [m.name for m in bound.gate.metrics] == [
        "heldout/exact_match",
        "safety/refusal_rate",
        "safety/over_refusal_rate",
    ]
    assert bound.sweep.metric == "heldout/exact_match"
    assert bound.registry.model_name == "r"
    bad = recipe.model_copy(
        update={
            "gate": recipe.gate.model_copy(update={"metrics": (MetricRule(name="heldout/field_accuracy"),)})
        }
    )
    with pytest.raises(
        RecipeError,
        match=r"r\.yaml \(gate\.metrics\): 'heldout/field_accuracy' is not a metric .* "
        r"it produces .*heldout/exact_match",
    ):
        bind_suite(bad, suite, "r.yaml")


def test_a_baseline_pinned_on_the_retired_healthcare_digest_is_explained():
    from ftlineage.suites import RETIRED_DIGESTS, retired_hint

    old = next(iter(RETIRED_DIGESTS))
    assert "re-pinned" in retired_hint(old)
    assert retired_hint("0" * 64) == ""


def test_cases_from_parquet_are_converted_and_locked(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "cases.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), src)
    args = ["--name", "pq_v1", "--heldout", str(src), "--scorer", "contains"]
    code = main(["suite", "new", str(tmp_path / "s"), *args])
    assert code == 0, capsys.readouterr().err
    suite = suites.load(str(tmp_path / "s"))
    assert [c.id for c in suite.heldout] == [r["id"] for r in ROWS]
    assert suite.heldout[0].reference == ROWS[0]["reference"]


def test_cases_from_a_saved_hf_dataset_need_no_datasets_import(tmp_path, capsys):
    datasets = pytest.importorskip("datasets")  # only to write the fixture; reading uses pyarrow
    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    args = ["--name", "hf_v1", "--heldout", str(tmp_path / "saved"), "--scorer", "exact_match"]
    assert main(["suite", "new", str(tmp_path / "s"), *args]) == 0, capsys.readouterr().err
    assert len(suites.load(str(tmp_path / "s")).heldout) == len(ROWS)
    assert main(["suite", "new", str(tmp_path / "t"), "--name", "x", "--heldout", str(tmp_path / "nope.csv"),
                 "--scorer", "exact_match"]) == 2
    assert "nope.csv: cases file not found" in capsys.readouterr().err
