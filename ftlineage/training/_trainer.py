"""Build the HF Trainer with a PEFT LoRA adapter (or a full fine-tune) from the recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftlineage.recipe import TrainingSpec
from ftlineage.training._data import LengthGroupedBatches, PadCollator


class _ListDataset:
    """Minimal map-style dataset over tokenized examples."""

    def __init__(self, examples: list[dict[str, list[int]]]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.examples[i]


def prepare_model(model: Any, spec: TrainingSpec) -> Any:
    """Wrap ``model`` in a LoRA adapter (``method: lora``) or return it for a full fine-tune.

    ``target_modules: all-linear`` adapts every linear layer but the output head, whatever the
    architecture calls them; a 4/8-bit base (QLoRA) is prepared for k-bit training first.
    """
    if spec.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if spec.method == "full":
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=spec.gradient_checkpointing)
    targets = spec.lora.target_modules
    config = LoraConfig(
        r=spec.lora.r,
        lora_alpha=spec.lora.alpha,
        lora_dropout=spec.lora.dropout,
        target_modules="all-linear" if targets == ("all-linear",) else list(targets),
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    if spec.gradient_checkpointing:
        peft_model.enable_input_require_grads()
    return peft_model


def build_trainer(
    model: Any,
    tokenizer: Any,
    examples: list[dict[str, list[int]]],
    spec: TrainingSpec,
    *,
    output_dir: Path,
    seed: int,
    callbacks: list[Any],
    progress: bool,
) -> Any:
    """A ``transformers.Trainer`` that saves ``ceil(max_steps / save_steps)`` checkpoints.

    It trains where the model is (CPU, CUDA or MPS), with bf16/fp16 autocast on a GPU when the
    model was loaded in that dtype. ``report_to`` is "none": our callback logs only what
    matters, into the run that ``mlflow run`` created, and never uploads checkpoints.
    """
    import torch
    from transformers import Trainer, TrainingArguments

    device = next(model.parameters()).device.type
    dtype = next(model.parameters()).dtype

    args = TrainingArguments(
        output_dir=str(output_dir),
        max_steps=spec.max_steps,
        per_device_train_batch_size=spec.batch_size,
        gradient_accumulation_steps=spec.gradient_accumulation_steps,
        learning_rate=spec.learning_rate,
        warmup_steps=spec.warmup_steps,
        lr_scheduler_type="cosine",
        weight_decay=0.0,
        logging_steps=max(1, spec.save_steps // 5),
        save_strategy="steps",
        save_steps=spec.save_steps,
        save_only_model=False,  # optimizer + RNG state too: a killed run resumes exactly
        report_to="none",
        use_cpu=device == "cpu",  # the model's own device: a CPU-pinned recipe stays on the CPU
        bf16=device != "cpu" and dtype == torch.bfloat16,
        fp16=device != "cpu" and dtype == torch.float16,
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=not progress,
    )

    class _Trainer(Trainer):
        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            group = self.args.train_batch_size * self.args.gradient_accumulation_steps
            return LengthGroupedBatches([len(e["input_ids"]) for e in examples], group)

    trainer = _Trainer(
        model=model,
        args=args,
        train_dataset=_ListDataset(examples),
        data_collator=PadCollator(tokenizer.pad_token_id),
        callbacks=callbacks,
    )
    _quiet_logs(trainer)
    return trainer


def _quiet_logs(trainer: Any) -> None:
    """Keep the progress bar but not HF's raw ``{'loss': ...}`` dict lines: our callback reports."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class _Progress(ProgressCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            return None

    had_bar = any(isinstance(cb, ProgressCallback) for cb in trainer.callback_handler.callbacks)
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if had_bar:
        trainer.add_callback(_Progress())


def restore_checkpoint(model: Any, checkpoint_dir: str, spec: TrainingSpec) -> None:
    """Load a checkpoint's trained weights (adapter or full) back into ``model``."""
    from safetensors.torch import load_file

    path = Path(checkpoint_dir)
    name = "adapter_model.safetensors" if spec.method == "lora" else "model.safetensors"
    state = load_file(str(path / name))
    if spec.method == "lora":
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, state)
    else:
        model.load_state_dict(state, strict=False)


def export_model(model: Any, tokenizer: Any, out_dir: Path, spec: TrainingSpec) -> Any:
    """Merge a LoRA adapter into the base weights and save model + tokenizer to ``out_dir``.

    Returns the merged model (a plain ``PreTrainedModel``).
    """
    merged = model.merge_and_unload() if spec.method == "lora" else model
    merged.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return merged
