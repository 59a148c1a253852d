"""The callback inside real HF training: drift stop, plateau stop, TRL's SFTTrainer + PEFT."""

from __future__ import annotations

import json

import pytest

from ftlineage import suites
from ftlineage.models import load_model
from ftlineage.recipe import TrainingSpec
from ftlineage.training import (
    EvalGateCallback,
    GatePolicy,
    build_trainer,
    evaluate_model,
    restore_checkpoint,
    tokenize_rows,
)
from tests.conftest import DRIFT_CASES, ROOT

pytestmark = pytest.mark.integration

TEMPLATE = "### Instruction:\nExtract as JSON.\n{prompt}\n### Response:\n"


def _evaluator(tok, limit):
    suite = suites.load("healthcare_v17")

    def evaluate(model):
        return evaluate_model(model, tok, suite, TEMPLATE, limit=limit)[0]

    return evaluate


def _tiny(cache):
    from ftlineage.models import resolve_base
    from ftlineage.recipe import BaseModelSpec
    from tests.conftest import TINY

    return load_model(resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), cache))


def _corpus(n):
    lines = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines()[:n]
    return [json.loads(line) for line in lines]


def test_a_destructive_learning_rate_is_stopped_on_drift(capable_base, tmp_path):
    model, tok = load_model(capable_base)
    evaluate = _evaluator(tok, DRIFT_CASES // 2)  # drift cases = 2 x limit = the taught ones
    base = evaluate(model)
    assert base["drift/overall"] == 1.0
    spec = TrainingSpec(
        method="full",
        max_steps=40,
        save_steps=2,
        batch_size=4,
        learning_rate=0.5,
        warmup_steps=0,
        max_seq_len=160,
    )
    cb = EvalGateCallback(evaluate, base, policy=GatePolicy(patience=0))
    trainer = build_trainer(
        model,
        tok,
        tokenize_rows(_corpus(64), tok, TEMPLATE, 160),
        spec,
        output_dir=tmp_path,
        seed=0,
        callbacks=[cb],
        progress=False,
    )
    trainer.train()
    assert trainer.state.global_step < spec.max_steps
    assert cb.stop_reason.startswith(f"hard drift fail at step {trainer.state.global_step}")
    assert cb.assessments[-1].worst == "fail"
    assert any(b.drop_points > 5 for b in cb.assessments[-1].bands)


def test_plateau_stops_and_the_best_checkpoint_is_restored(model_cache, tmp_path):
    """The task here is the short-answer drift cases: the tiny tokenizer cannot emit the
    held-out JSON within the suite's token budget, so ``select`` points at what it can learn."""

    model, tok = _tiny(model_cache)
    suite = suites.load("healthcare_v17")
    rows = [{"prompt": c.prompt, "completion": c.reference} for c in suite.drift[:DRIFT_CASES]]
    evaluate = _evaluator(tok, DRIFT_CASES // 2)
    spec = TrainingSpec(
        method="full",
        max_steps=400,
        save_steps=15,
        batch_size=8,
        learning_rate=5e-3,
        warmup_steps=5,
        max_seq_len=160,
    )
    policy = GatePolicy(select="drift/overall", patience=3, stop_on_drift=False)
    cb = EvalGateCallback(evaluate, evaluate(model), policy=policy)
    trainer = build_trainer(
        model,
        tok,
        tokenize_rows(rows, tok, suite.spec("drift").template, 160),
        spec,
        output_dir=tmp_path,
        seed=0,
        callbacks=[cb],
        progress=False,
    )
    trainer.train()
    scores = [c.metrics["drift/overall"] for c in cb.checkpoints]
    assert trainer.state.global_step < spec.max_steps, scores
    assert "has not improved for 3 evaluations" in cb.stop_reason
    best = cb.best()
    assert best.metrics["drift/overall"] == max(scores) > scores[0]
    assert best.step == cb.checkpoints[scores.index(max(scores))].step  # the first to reach the best
    assert cb.checkpoints[-1].loss < best.loss  # the loss kept falling meanwhile
    restore_checkpoint(model, best.path, spec)
    assert evaluate(model)["drift/overall"] == max(scores)


def test_the_callback_runs_inside_trl_sft_trainer_with_a_peft_adapter(model_cache, tmp_path):
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer


    model, tok = _tiny(model_cache)
    rows = _corpus(16)
    data = Dataset.from_list(
        [{"prompt": TEMPLATE.replace("{prompt}", r["prompt"]), "completion": r["completion"]} for r in rows]
    )
    evaluate = _evaluator(tok, 2)
    cb = EvalGateCallback(evaluate, evaluate(model))
    args = SFTConfig(
        output_dir=str(tmp_path),
        max_steps=4,
        save_steps=2,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        max_length=256,
        logging_steps=1,
        disable_tqdm=True,
    )
    peft = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=data, processing_class=tok, peft_config=peft, callbacks=[cb]
    )
    trainer.train()
    assert [c.step for c in cb.checkpoints] == [2, 4]
    assert all("drift/overall" in c.metrics for c in cb.checkpoints)
    assert all(c.loss is not None for c in cb.checkpoints)
    assert (tmp_path / "checkpoint-4" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "checkpoint-4" / "ftlineage_checkpoint.json").is_file()
