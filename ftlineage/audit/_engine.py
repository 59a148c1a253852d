"""Where the per-row pass runs: in-process, a local process pool, or Ray Data.

Every engine runs the same pure :func:`process_chunk` over the same chunks and hands results back
in corpus order, so the flags cannot depend on the engine.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

from ftlineage.audit._rows import ChunkResult, RowConfig, process_chunk
from ftlineage.data import Chunk
from ftlineage.errors import BadInputError, missing_dependency

ENGINES: tuple[str, ...] = ("local", "ray")


def run_chunks(
    chunks: Sequence[Chunk], cfg: RowConfig, *, engine: str, workers: int
) -> Iterator[ChunkResult]:
    """Results of :func:`process_chunk` for every chunk, in order."""
    if engine == "ray":
        yield from _ray(chunks, cfg, workers)
    elif engine == "local":
        yield from _local(chunks, cfg, workers)
    else:
        raise BadInputError(f"unknown audit engine {engine!r}; valid engines: {', '.join(ENGINES)}")


def _local(chunks: Sequence[Chunk], cfg: RowConfig, workers: int) -> Iterator[ChunkResult]:
    if workers <= 1 or len(chunks) <= 1:
        for i, chunk in enumerate(chunks):
            yield process_chunk(i, chunk, cfg)
        return
    # spawn, not fork: the parent may hold torch's thread pools.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield from pool.map(process_chunk, range(len(chunks)), chunks, [cfg] * len(chunks), chunksize=1)


def _ray(chunks: Sequence[Chunk], cfg: RowConfig, workers: int) -> Iterator[ChunkResult]:
    try:
        import ray
    except ImportError:
        raise missing_dependency("ray[data]", "the ray audit engine") from None
    if not ray.is_initialized():
        ray.init(
            num_cpus=max(workers, 1), include_dashboard=False, log_to_driver=False, configure_logging=False
        )
    plan = list(chunks)

    def task(item: dict[str, int]) -> dict[str, object]:
        i = int(item["i"])
        return {"i": i, "blob": pickle.dumps(process_chunk(i, plan[i], cfg))}

    ds = ray.data.from_items([{"i": i} for i in range(len(plan))], override_num_blocks=max(len(plan), 1))
    done: dict[int, ChunkResult] = {}
    nxt = 0
    for row in ds.map(task).iter_rows():
        done[int(row["i"])] = pickle.loads(row["blob"])  # noqa: S301 - our own worker's bytes
        while nxt in done:
            yield done.pop(nxt)
            nxt += 1
