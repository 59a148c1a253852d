"""Typed ``FTLINEAGE_*`` environment settings, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _cache_root() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "ftlineage" if xdg else Path.home() / ".cache" / "ftlineage"


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        from ftlineage.errors import BadInputError

        raise BadInputError(f"{name} must be a positive integer but got {raw[:40]!r}")
    return value


def _names(raw: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in raw.split(",") if x.strip())


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Settings:
    """Process-wide settings: every ``FTLINEAGE_*`` variable is read here and nowhere else.

    Attributes:
        cache_dir: where built base models and judge caches go (``FTLINEAGE_CACHE_DIR``).
        work_dir: where checkpoints and scratch files go (``FTLINEAGE_WORK_DIR``).
        num_threads: torch intra-op threads (``FTLINEAGE_NUM_THREADS``, default
            ``min(2, cores)``). Runs with the same thread count are bit-reproducible; use 1
            on a loaded machine (the tests do).
        progress: show progress bars (``FTLINEAGE_PROGRESS``, "0" to hide).
        report_to: extra trackers besides MLflow (``FTLINEAGE_REPORT_TO``, comma-separated:
            ``wandb``, ``weave``), added to the recipe's ``tracking.report_to``.
        log_level: the ``ftlineage`` loggers' level (``FTLINEAGE_LOG_LEVEL``, default ``INFO``).
        recipe: the recipe ``mlflow run``'s run context reads (``FTLINEAGE_RECIPE``).
        guard_aliases: aliases the guard server protects (``FTLINEAGE_GUARD_ALIASES``, default
            the recipe default ``registry.champion_alias``).
        guard_stages: stages the guard server protects (``FTLINEAGE_GUARD_STAGES``).
        gate_key: the evidence signing key (``FTLINEAGE_GATE_KEY``); never shown in a repr.
        engine: where scoring generation runs (``FTLINEAGE_ENGINE``): ``local`` (in process) or
            ``ray`` (Ray tasks; ``RAY_ADDRESS`` joins a cluster). ``ftlineage run --engine`` sets it.
        ray_workers: Ray tasks per generation pass and a local Ray's CPUs (``FTLINEAGE_RAY_WORKERS``).
    """

    cache_dir: Path
    work_dir: Path
    num_threads: int
    progress: bool
    report_to: tuple[str, ...] = ()
    log_level: str = "INFO"
    recipe: str | None = None
    guard_aliases: tuple[str, ...] = ()
    guard_stages: tuple[str, ...] = ("production",)
    gate_key: bytes | None = field(default=None, repr=False)
    engine: str = "local"
    ray_workers: int = 2

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the environment, validating each value."""
        env = os.environ.get
        threads = _positive_int(
            "FTLINEAGE_NUM_THREADS", env("FTLINEAGE_NUM_THREADS", str(min(2, os.cpu_count() or 1)))
        )
        level = env("FTLINEAGE_LOG_LEVEL", "INFO").strip().upper()
        if level not in _LEVELS:
            from ftlineage.errors import BadInputError

            raise BadInputError(f"FTLINEAGE_LOG_LEVEL must be one of {', '.join(_LEVELS)} but got {level!r}")
        key = env("FTLINEAGE_GATE_KEY")
        engine = env("FTLINEAGE_ENGINE", "local").strip().lower()
        if engine not in ENGINES:
            from ftlineage.errors import BadInputError

            raise BadInputError(f"FTLINEAGE_ENGINE must be one of {', '.join(ENGINES)} but got {engine!r}")
        from ftlineage.recipe import RegistrySpec  # the protected alias defaults to the recipe's

        champion = RegistrySpec().champion_alias
        return cls(
            cache_dir=Path(env("FTLINEAGE_CACHE_DIR") or _cache_root()),
            work_dir=Path(env("FTLINEAGE_WORK_DIR") or "ftlineage-work"),
            num_threads=threads,
            progress=env("FTLINEAGE_PROGRESS", "1") != "0",
            report_to=_names(env("FTLINEAGE_REPORT_TO", "")),
            log_level=level,
            recipe=env("FTLINEAGE_RECIPE") or None,
            guard_aliases=tuple(x.lower() for x in _names(env("FTLINEAGE_GUARD_ALIASES", champion))),
            guard_stages=tuple(x.lower() for x in _names(env("FTLINEAGE_GUARD_STAGES", "production"))),
            gate_key=key.encode() if key else None,
            engine=engine,
            ray_workers=_positive_int("FTLINEAGE_RAY_WORKERS", env("FTLINEAGE_RAY_WORKERS", "2")),
        )
