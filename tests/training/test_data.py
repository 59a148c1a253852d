"""The train sampler: length-grouped batches in random order, so a short run sees short rows too."""

from __future__ import annotations

import torch

from ftlineage.training._data import LengthGroupedBatches


def _order(lengths: list[int], batch: int, seed: int = 0) -> list[int]:
    torch.manual_seed(seed)
    return list(LengthGroupedBatches(lengths, batch))


def test_every_row_once_in_batches_of_similar_length() -> None:
    lengths = [(i * 37) % 200 + 10 for i in range(1000)]
    order = _order(lengths, 8)
    assert sorted(order) == list(range(1000))
    batches = [order[i : i + 8] for i in range(0, 1000, 8)]
    spread = [max(lengths[j] for j in b) - min(lengths[j] for j in b) for b in batches]
    assert sum(spread) / len(spread) < 15  # random batches would spread ~150 tokens


def test_a_run_shorter_than_a_mega_batch_still_sees_the_short_rows() -> None:
    """HF's group_by_length feeds each 400-row mega-batch longest first: in 40 steps of 8 the
    short rows come last, at the lowest learning rates, and the shortest not at all."""
    lengths = [200] * 700 + [40] * 300  # task rows and 30% short rows
    for seed in range(3):
        first = _order(lengths, 8, seed)[:320]
        short = sum(lengths[i] == 40 for i in first) / 320
        assert 0.15 < short < 0.45, (seed, short)


def test_the_order_follows_the_seed() -> None:
    lengths = [(i * 13) % 90 + 5 for i in range(300)]
    assert _order(lengths, 4, 1) == _order(lengths, 4, 1)
    assert _order(lengths, 4, 1) != _order(lengths, 4, 2)
