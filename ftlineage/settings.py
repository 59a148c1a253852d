"""Typed ``FTLINEAGE_*`` environment settings, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _cache_root() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "ftlineage" if xdg else Path.home() / ".cache" / "ftlineage"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings.

    Attributes:
        cache_dir: where built base models are cached (``FTLINEAGE_CACHE_DIR``).
        work_dir: where checkpoints and scratch files go (``FTLINEAGE_WORK_DIR``).
        num_threads: torch intra-op threads (``FTLINEAGE_NUM_THREADS``, default
            ``min(2, cores)``). Runs with the same thread count are bit-reproducible; use 1
            on a loaded machine (the tests do).
        progress: show progress bars (``FTLINEAGE_PROGRESS``, "0" to hide).
    """

    cache_dir: Path
    work_dir: Path
    num_threads: int
    progress: bool

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the environment, validating each value."""
        threads_raw = os.environ.get("FTLINEAGE_NUM_THREADS", str(min(2, os.cpu_count() or 1)))
        try:
            threads = int(threads_raw)
        except ValueError:
            threads = 0
        if threads < 1:
            from ftlineage.errors import BadInputError

            raise BadInputError(
                f"FTLINEAGE_NUM_THREADS must be a positive integer but got {threads_raw!r}"
            )
        return cls(
            cache_dir=Path(os.environ.get("FTLINEAGE_CACHE_DIR") or _cache_root()),
            work_dir=Path(os.environ.get("FTLINEAGE_WORK_DIR") or "ftlineage-work"),
            num_threads=threads,
            progress=os.environ.get("FTLINEAGE_PROGRESS", "1") != "0",
        )
