"""The Trainer builder: memory options, all-linear LoRA, and bit-for-bit CPU reproducibility."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftlineage.models import load_model, resolve_base
from ftlineage.recipe import BaseModelSpec, LoraSpec, TrainingSpec
from ftlineage.training import build_trainer, prepare_model, tokenize_rows
from tests.conftest import TINY

ROWS = [{"prompt": f"Caller {i} asks about a refund.", "completion": f'{{"id": {i}}}'} for i in range(16)]


def _train(cache: Path, out: Path, **spec: object) -> tuple[list[float], object]:
    import torch

    model, tok = load_model(resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), cache))
    training = TrainingSpec(max_steps=3, save_steps=100, batch_size=4, learning_rate=1e-2, **spec)  # type: ignore[arg-type]
    torch.manual_seed(0)
    peft = prepare_model(model, training)
    trainer = build_trainer(
        peft,
        tok,
        tokenize_rows(ROWS, tok, "{prompt}\n", 64),
        training,
        output_dir=out,
        seed=0,
        callbacks=[],
        progress=False,
    )
    trainer.train()
    losses = [h["train_loss"] for h in trainer.state.log_history if "train_loss" in h]
    return losses, trainer


def test_accumulation_and_checkpointing_train_on_cpu(model_cache: Path, tmp_path: Path) -> None:
    losses, trainer = _train(
        model_cache, tmp_path / "a", gradient_accumulation_steps=2, gradient_checkpointing=True
    )
    assert trainer.args.gradient_accumulation_steps == 2
    assert trainer.args.use_cpu
    assert trainer.model.base_model.model.is_gradient_checkpointing
    assert losses
    assert all(loss == loss for loss in losses)


def test_all_linear_is_the_default_and_cpu_runs_repeat_bit_for_bit(model_cache: Path, tmp_path: Path) -> None:
    assert LoraSpec().target_modules == ("all-linear",)
    first, t1 = _train(model_cache, tmp_path / "a")
    again, t2 = _train(model_cache, tmp_path / "b")
    assert first == again
    import torch

    s1, s2 = t1.model.state_dict(), t2.model.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    adapted = {n.split(".")[-2] for n, _ in t1.model.named_modules() if n.endswith(".lora_A")}
    assert adapted == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def test_a_missing_lora_module_is_named(model_cache: Path) -> None:
    from ftlineage.errors import RecipeError
    from ftlineage.models import check_base_model

    with pytest.raises(RecipeError, match=r"'c_attn' is not a module"):
        check_base_model(
            BaseModelSpec(name="builtin:tiny-llama", builtin=TINY),
            TrainingSpec(lora=LoraSpec(target_modules=("c_attn",))),
            "r.yaml",
        )


def test_the_trainer_samples_length_grouped_batches(model_cache: Path, tmp_path: Path) -> None:
    from ftlineage.training._data import LengthGroupedBatches

    _, trainer = _train(model_cache, tmp_path)
    sampler = trainer._get_train_sampler()  # type: ignore[attr-defined]
    assert isinstance(sampler, LengthGroupedBatches)
    assert sampler.batch_size == 4
