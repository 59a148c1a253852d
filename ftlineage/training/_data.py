"""Tokenize corpus rows for causal-LM fine-tuning (loss on the answers only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ftlineage.models import PromptFormat


def tokenize_rows(
    rows: Sequence[dict[str, Any]], tokenizer: Any, fmt: PromptFormat | str, max_len: int
) -> list[dict[str, list[int]]]:
    """Render each row in ``fmt``; labels are -100 everywhere but the answer's tokens.

    A ``prompt``/``completion`` row trains on its completion; a ``messages`` row on every
    assistant turn (with a chat template) or on its last one (without).
    """
    fmt = PromptFormat(template=fmt) if isinstance(fmt, str) else fmt
    examples = []
    for row in rows:
        if row.get("messages"):
            examples.append(fmt.encode(tokenizer, row["messages"], None, max_len))
        else:
            examples.append(fmt.encode(tokenizer, row["prompt"], row["completion"], max_len))
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
