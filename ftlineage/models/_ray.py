"""Generation fanned out over Ray: the ``ray`` generation backend (``ftlineage run --engine ray``).

The prompts are planned into batches exactly as in-process generation plans them (same length
sort, same batch size); each Ray task runs whole batches on a copy of the model shipped through
Ray's object store, so every batch, and so every completion, is computed as it would be in
process. ``RAY_ADDRESS`` joins an existing cluster (KubeRay); otherwise a local Ray starts with
``workers`` CPUs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ftlineage.errors import missing_dependency
from ftlineage.logging import get_logger

logger = get_logger(__name__)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise missing_dependency("ray[data]", "the ray generation engine") from None
    if not ray.is_initialized():
        import os

        if os.environ.get("RAY_ADDRESS"):
            ray.init(log_to_driver=False, configure_logging=False)
        else:
            ray.init(
                num_cpus=_local_cpus(), include_dashboard=False, log_to_driver=False, configure_logging=False
            )
    return ray


def _local_cpus() -> int:
    from ftlineage.settings import Settings

    return max(1, Settings.from_env().ray_workers)


def _run_batches(
    model: Any, tokenizer: Any, batches: list[list[str]], max_new_tokens: int, add_special_tokens: bool,
    threads: int,
) -> list[list[str]]:  # fmt: skip
    """(Ray task) Complete each batch, as :func:`ftlineage.models._load.generate` would."""
    import torch

    from ftlineage.models._load import run_batch

    torch.set_num_threads(threads)
    model.eval()
    tokenizer.padding_side = "left"
    return [run_batch(model, tokenizer, b, max_new_tokens, add_special_tokens) for b in batches]


@dataclass
class RayGenerator:
    """The ``hf`` generator's batches, run as Ray tasks (one task per worker's share of batches)."""

    model: Any
    tokenizer: Any
    add_special_tokens: bool = True
    batch_size: int | None = None
    memory_gb: float = 2.0
    workers: int = 2
    name: str = "ray"

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int) -> tuple[list[str], float]:
        """See :class:`~ftlineage.models.Generator`."""
        from ftlineage.models._load import plan_batches
        from ftlineage.settings import Settings

        ray = _ray()
        start = time.perf_counter()
        fixed, batches = plan_batches(self.model, self.tokenizer, prompts, max_new_tokens, self.batch_size,
                                      self.add_special_tokens, self.memory_gb)  # fmt: skip
        shares = [batches[i :: self.workers] for i in range(self.workers)]
        task = ray.remote(num_cpus=1)(_run_batches)
        was_training = self.model.training
        model_ref, tok_ref = ray.put(self.model.eval()), ray.put(self.tokenizer)
        threads = Settings.from_env().num_threads
        futures = [
            task.remote(model_ref, tok_ref, [[fixed[i] for i in b] for b in share], max_new_tokens,
                        self.add_special_tokens, threads)
            for share in shares if share
        ]  # fmt: skip
        by_index: dict[int, str] = {}
        for share, texts in zip([s for s in shares if s], ray.get(futures), strict=True):
            for idx, out in zip(share, texts, strict=True):
                by_index.update(zip(idx, out, strict=True))
        if was_training:
            self.model.train()
        elapsed = time.perf_counter() - start
        logger.info("ray: %d prompts in %d batches over %d tasks", len(fixed), len(batches), len(futures))
        return [by_index[i] for i in range(len(fixed))], elapsed / max(1, len(fixed))
