"""Tokenize corpus rows for causal-LM fine-tuning (loss on the completion only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def tokenize_rows(
    rows: Sequence[dict[str, Any]], tokenizer: Any, template: str, max_len: int
) -> list[dict[str, list[int]]]:
    """Render ``template`` around each prompt; labels mask the prompt with -100."""
    examples = []
    for row in rows:
        prompt_ids = tokenizer(template.replace("{prompt}", row["prompt"]))["input_ids"]
        target_ids = tokenizer(row["completion"])["input_ids"] + [tokenizer.eos_token_id]
        ids = (prompt_ids + target_ids)[:max_len]
        labels = ([-100] * len(prompt_ids) + target_ids)[:max_len]
        examples.append({"input_ids": ids, "labels": labels})
    return examples


class PadCollator:
    """Right-pad a batch; padded label positions are -100."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        """Stack a batch of examples into padded tensors."""
        import torch

        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[i, :n] = torch.tensor(b["input_ids"])
            labels[i, :n] = torch.tensor(b["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}
