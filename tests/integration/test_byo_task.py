"""Bring your own task: plain JSONL -> `ftlineage suite new` -> a recipe naming that directory ->
`ftlineage run`, with no code. The task here (city -> country, a label) is one ftlineage never saw."""

from __future__ import annotations

import json
import random

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.cli import main

pytestmark = pytest.mark.integration

PAIRS = [
    ("Oslo", "Norway"),
    ("Lima", "Peru"),
    ("Quito", "Ecuador"),
    ("Cairo", "Egypt"),
    ("Hanoi", "Vietnam"),
    ("Riga", "Latvia"),
    ("Turin", "Italy"),
    ("Dakar", "Senegal"),
    ("Kyoto", "Japan"),
    ("Bern", "Switzerland"),
]

def _recipe(suite, corpus):
    """The shared tiny recipe (conftest), pointed at this task's suite, corpus and instruction."""
    from tests.conftest import TINY_RECIPE

    text = TINY_RECIPE.format(corpus=corpus).replace("name: tiny", "name: city_country")
    text = text.replace("suite: healthcare_v17", f"suite: {suite}")
    text = text.replace("Extract as JSON.", "Name the country.")
    return text.replace("eval_limit: 4", "eval_limit: 6").replace("max_steps: 6", "max_steps: 4")


def _rows(n, seed, prefix):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        city, country = rng.choice(PAIRS)
        lead = rng.choice(["Where is", "Which country has", "Country of", "Tell me the country for"])
        out.append(
            {"id": f"{prefix}{i}", "prompt": f"{lead} {city}? (ticket {seed}-{i})", "reference": country}
        )
    return out


def test_a_users_task_runs_end_to_end_without_code(tmp_path, model_cache, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(tmp_path / "work"))
    held = tmp_path / "heldout.jsonl"
    held.write_text("".join(json.dumps(r) + "\n" for r in _rows(20, 1, "h")))
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"id": r["id"], "prompt": r["prompt"], "completion": r["reference"]}) + "\n"
            for r in _rows(120, 2, "t")
        )
    )
    labels = "[" + ",".join(sorted({c for _, c in PAIRS})) + "]"
    assert (
        main(
            [
                "suite",
                "new",
                str(tmp_path / "suite"),
                "--name",
                "city_country_v1",
                "--heldout",
                str(held),
                "--scorer",
                "exact_match",
                "--scorer",
                f"label:labels={labels}",
            ]
        )
        == 0
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(_recipe(tmp_path / "suite", train))
    code = main(["run", "--recipe", str(recipe)])
    out = capsys.readouterr()
    assert code in (0, 4), out.err  # passed, or blocked by the gate: both are finished, decided runs

    client = MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("city_country").experiment_id])
    assert run.info.status == "FINISHED"
    steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "heldout/exact_match"))
    assert steps == [0, 2, 4]  # the base at 0, then every checkpoint
    assert client.get_metric_history(run.info.run_id, "heldout/label.macro_f1")
    for family in ("arithmetic", "format", "multi_turn", "refusal", "domain_adjacent"):
        assert client.get_metric_history(run.info.run_id, f"drift/{family}"), family
    run_dir = tmp_path / "work" / run.info.run_id
    arena = json.loads((run_dir / "arena" / "arena.json").read_text())
    assert arena["wins"] + arena["losses"] + arena["ties"] + arena["unscored"] == 12
    decision = json.loads((run_dir / "gate" / "decision.json").read_text())
    checked = {c["name"] for c in decision["checks"]}
    assert {"heldout/exact_match", "heldout/label.accuracy", "safety/refusal_rate"} <= checked
    assert not any("field_accuracy" in name for name in checked)
