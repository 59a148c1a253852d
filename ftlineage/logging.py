"""The library's logger, on the model of ``optuna.logging``.

Every module logs through ``get_logger(__name__)``, a child of the ``ftlineage`` logger. That
logger has one default handler writing ``ftlineage: <message>`` lines to stderr (the CLI's
progress lines) and does not propagate, so an application's root logging configuration neither
duplicates nor swallows them. An application that routes logs itself calls
:func:`disable_default_handler` and :func:`enable_propagation`. ``FTLINEAGE_LOG_LEVEL`` sets the
starting level (default ``INFO``).
"""

from __future__ import annotations

import logging
import sys
import threading

__all__ = [
    "disable_default_handler",
    "enable_default_handler",
    "enable_propagation",
    "get_logger",
    "get_verbosity",
    "set_verbosity",
]

_lock = threading.Lock()
_handler: logging.Handler | None = None
ROOT = "ftlineage"


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to the ``sys.stderr`` of the moment (pytest swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def _configure() -> None:
    global _handler
    with _lock:
        if _handler is not None:
            return
        from ftlineage.settings import Settings

        _handler = _StderrHandler()
        _handler.setFormatter(logging.Formatter("ftlineage: %(message)s"))
        root = logging.getLogger(ROOT)
        root.addHandler(_handler)
        root.setLevel(Settings.from_env().log_level)
        root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """The logger for a module of ftlineage (``name`` is its ``__name__``)."""
    _configure()
    return logging.getLogger(name)


def set_verbosity(level: int) -> None:
    """Set the level of every ftlineage logger (``logging.WARNING`` hides progress lines)."""
    _configure()
    logging.getLogger(ROOT).setLevel(level)


def get_verbosity() -> int:
    """The ftlineage loggers' level."""
    _configure()
    return logging.getLogger(ROOT).getEffectiveLevel()


def disable_default_handler() -> None:
    """Stop writing ftlineage's own stderr lines (route them with your logging configuration)."""
    _configure()
    assert _handler is not None
    logging.getLogger(ROOT).removeHandler(_handler)


def enable_default_handler() -> None:
    """Write ftlineage's stderr lines again."""
    _configure()
    assert _handler is not None
    logging.getLogger(ROOT).addHandler(_handler)


def enable_propagation() -> None:
    """Let ftlineage records reach the root logger's handlers too."""
    _configure()
    logging.getLogger(ROOT).propagate = True
