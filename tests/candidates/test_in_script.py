"""A user's own TRL SFTTrainer script: the callback, then one call gates the run it trained in."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from tests.candidates.conftest import TEMPLATE, rows, write_recipe

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = """\
import json, sys
import mlflow, torch
from datasets import Dataset
from trl import SFTConfig, SFTTrainer
import ftlineage
from ftlineage.models import load_model

recipe, base, out, data = sys.argv[1:5]
torch.manual_seed(0)
model, tok = load_model(base)
rows = [json.loads(line) for line in open(data)]
template = {template!r}
train = Dataset.from_list(
    [{{"prompt": template.replace("{{prompt}}", r["prompt"]), "completion": r["completion"]}} for r in rows]
)
mlflow.set_experiment("my-own-sft")
with mlflow.start_run() as run:
    mlflow.log_params({{"seed": 0, "base_model": "my tiny llama", "learning_rate": 5e-3}})  # the script's own
    cb = ftlineage.gate_callback(recipe, tok, base_model=model)
    args = SFTConfig(output_dir=out, max_steps=240, save_steps=120, per_device_train_batch_size=8,
                     learning_rate=5e-3, warmup_steps=5, report_to="none", use_cpu=True, max_length=64,
                     logging_steps=20, disable_tqdm=True, save_only_model=True)
    SFTTrainer(model=model, args=args, train_dataset=train, processing_class=tok, callbacks=[cb]).train()
    best = cb.best()
    result = ftlineage.gate_run(recipe, best.path, step=best.step)
    print(json.dumps({{"run": run.info.run_id, "decision": result.decision, "version": result.version,
                      "reasons": result.reasons, "best": best.step}}))
"""


def test_a_trl_script_gates_and_registers_inside_its_own_run(cities, store, tmp_path):
    script = tmp_path / "my_sft.py"
    script.write_text(SCRIPT.format(template=TEMPLATE))
    recipe = write_recipe(tmp_path, cities)
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps({"prompt": r["prompt"], "completion": " " + r["reference"]}) + "\n"
            for r in rows(96, 2, "t")
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script), str(recipe), str(cities.base), str(tmp_path / "out"), str(data)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["decision"] == "pass", got["reasons"]

    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("my-own-sft").experiment_id])
    assert run.info.run_id == got["run"]  # one run: no extra runs were made
    assert run.info.status == "FINISHED"
    history = sorted(m.step for m in client.get_metric_history(run.info.run_id, "heldout/exact_match"))
    assert history == [0, 120, 240]  # the base and each checkpoint
    assert client.get_metric_history(run.info.run_id, "candidate/heldout/exact_match")[0].step == got["best"]
    params = run.data.params
    assert params["seed"] == "0"
    assert params["base_model"] == "my tiny llama"
    assert params["ftlineage.recipe_name"] == "cities"
    artifacts = {f.path for f in client.list_artifacts(run.info.run_id, "gate")}
    assert {"gate/decision.json", "gate/model_card.md"} <= artifacts
    assert {f.path for f in client.list_artifacts(run.info.run_id, "arena")} >= {"arena/arena.json"}
    mv = client.get_model_version("cities", got["version"])
    assert mv.run_id == run.info.run_id
    assert mv.tags[T.MODEL_SHA] == run.data.tags[T.MODEL_SHA]
    assert client.get_model_version_by_alias("cities", "challenger").version == mv.version
