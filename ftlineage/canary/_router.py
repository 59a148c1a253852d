"""Sticky routing and shadow sampling (pure): the same key always gets the same answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Arm = Literal["champion", "challenger"]
"""The two arms of a canary (a wire format: replay files and ``/stats`` use these keys).

The registry aliases serving each arm are the recipe's (``registry.champion_alias`` and
``registry.alias``); see :class:`ftlineage.gate.promotion.Aliases`.
"""
ARMS: tuple[Arm, Arm] = ("champion", "challenger")


def _unit(salt: str, key: str) -> float:
    """A uniform number in [0, 1) from SHA-256 of (salt, key)."""
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Route:
    """Where one request goes: the arm that answers, and whether the other arm shadows it."""

    arm: Arm
    shadow: bool


@dataclass
class Router:
    """Send a sticky ``split`` of keys to the challenger; mirror a ``shadow`` share to both.

    ``split`` is mutable: a rollback sets it to 0 and every later request goes to the
    champion at once. Keys are user or request ids; a key's draw never changes, so a
    user sees one model for the whole canary.
    """

    split: float = 0.1
    shadow: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("split", "shadow"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must lie in [0, 1] but got {value!r}")

    def route(self, key: str) -> Route:
        """The arm for ``key`` and whether to shadow it."""
        live = self.split > 0
        arm: Arm = "challenger" if live and _unit(f"split:{self.seed}", key) < self.split else "champion"
        return Route(arm, live and _unit(f"shadow:{self.seed}", key) < self.shadow)
