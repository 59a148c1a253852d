"""Tokenize corpus rows for causal-LM fine-tuning (loss on the answers only)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


class LengthGroupedBatches:
    """Train-sampler order: batches of similar length (little padding), in random batch order.

    The indices are randomly permuted and cut into mega-batches of ``50 * batch_size``; each
    mega-batch is sorted by length and cut into batches, and the batches' order is shuffled.
    HF's own ``group_by_length`` feeds each mega-batch longest first: a run shorter than an epoch
    meets its short rows (replay, chat safety rows) last, near the bottom of the learning-rate
    schedule, and the shortest not at all; shuffling the batches removes that length bias.
    Randomness comes from torch's global generator, which the Trainer seeds and restores on resume.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        import torch

        n, size = len(self.lengths), self.batch_size
        mega = size * max(1, min(n // (size * 4), 50))
        order = torch.randperm(n).tolist()
        out: list[int] = []
        for start in range(0, n, mega):
            group = sorted(order[start : start + mega], key=lambda i: -self.lengths[i])
            batches = [group[i : i + size] for i in range(0, len(group), size)]
            out += [i for b in torch.randperm(len(batches)).tolist() for i in batches[b]]
        return iter(out)
