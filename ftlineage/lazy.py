"""Lazy package members (PEP 562): heavy or cyclic imports happen on first use, not at import time."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, members: Mapping[str, tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``members``: name → (module, attribute).

    A module name starting with ``_`` is relative to ``package``; others are absolute. An unknown
    name raises ``AttributeError`` as a missing attribute would.
    """

    def __getattr__(name: str) -> Any:
        if name not in members:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = members[name]
        return getattr(
            importlib.import_module(f"{package}.{module}" if module.startswith("_") else module), attr
        )

    return __getattr__
