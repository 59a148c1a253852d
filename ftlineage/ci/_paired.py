"""Prompt CI: a recipe's prompt at a git ref (base) and now (head), asked of the same model on the same items.

Which recipes run: only those whose recipe file, prompt file or suite folder changed since the
ref (a ``prompts:/`` reference lives in the recipe, so moving it changes the recipe). Each item
is scored for both prompts; the suite's primary metric per item decides a win, a loss or a tie.
The Wilson interval on wins / (wins + losses) says whether head is better, worse, or undecided,
and how many more decided items at the same rate a decision would need.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage.arena import wilson_interval
from ftlineage.candidates import PromptText, is_registry_ref, parse_prompt
from ftlineage.errors import FtlineageError
from ftlineage.scoring import CaseScore

MAX_NEEDED = 100_000


@dataclass(frozen=True)
class Paired:
    """Head vs base on the same items: W/L/T by the primary metric, its interval and what it needs."""

    recipe: str
    suite: str
    metric: str
    wins: int
    losses: int
    ties: int
    unscored: int
    ci_low: float
    ci_high: float
    needed: int | None  # more decided items at the same win rate for a decision; None: decided or never

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` or ``undecided``."""
        if self.ci_low > 0.5:
            return "better"
        if self.ci_high < 0.5:
            return "worse"
        return "undecided"

    def line(self, ref: str) -> str:
        """One line for the terminal."""
        decided = self.wins + self.losses
        rate = self.wins / decided if decided else math.nan
        tail = (
            "decided"
            if self.verdict != "undecided"
            else "never decides at this rate (equal wins and losses)"
            if self.needed is None
            else f"about {self.needed} more decided items would decide it"
        )
        return (
            f"{self.recipe} ({self.suite}, {self.metric}): head vs {ref}: W/L/T {self.wins}/{self.losses}/"
            f"{self.ties} (unscored {self.unscored}), win rate {rate:.3f}, Wilson [{self.ci_low:.3f}, "
            f"{self.ci_high:.3f}] -> {self.verdict}; {tail}"
        )


def compare(
    head: list[CaseScore], base: list[CaseScore], value: Callable[[CaseScore], float]
) -> tuple[int, int, int, int]:
    """``(wins, losses, ties, unscored)`` of head over base on the same cases, by ``value`` per case."""
    theirs = {(c.part, c.id): value(c) for c in base}
    w = l_ = t = u = 0
    for c in head:
        mine, other = value(c), theirs.get((c.part, c.id), math.nan)
        if math.isnan(mine) or math.isnan(other):
            u += 1
        elif mine > other:
            w += 1
        elif mine < other:
            l_ += 1
        else:
            t += 1
    return w, l_, t, u


def needed(wins: int, losses: int, confidence: float = 0.95) -> int | None:
    """More decided items, at the same win rate, for the Wilson interval to exclude 0.5."""
    n = wins + losses
    if n == 0 or wins == losses:
        return None
    rate = wins / n
    for extra in range(0, MAX_NEEDED):
        total = n + extra
        low, high = wilson_interval(round(rate * total), total, confidence)
        if low > 0.5 or high < 0.5:
            return extra
    return None


def paired(
    recipe: str, suite: str, metric: str, counts: tuple[int, int, int, int], confidence: float
) -> Paired:
    """The comparison from its counts."""
    w, l_, t, u = counts
    low, high = wilson_interval(w, w + l_, confidence) if w + l_ else (0.0, 1.0)
    result = Paired(recipe, suite, metric, w, l_, t, u, low, high, None)
    return Paired(
        **{**result.__dict__, "needed": needed(w, l_, confidence) if result.verdict == "undecided" else 0}
    )


def git(*args: str, cwd: Path | None = None) -> str:
    """``git args`` output; a failure is an :class:`FtlineageError` naming the command."""
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=cwd).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise FtlineageError(f"git {' '.join(args)} failed: {detail.strip()}") from None


def changed(ref: str, paths: list[Path]) -> bool:
    """Whether any of ``paths`` (inside the git work tree) differs from ``ref``."""
    top = Path(git("rev-parse", "--show-toplevel").strip()).resolve()
    watched = [str(p.resolve()) for p in paths if p.resolve().is_relative_to(top)]
    return bool(watched) and bool(git("diff", "--name-only", ref, "--", *watched, cwd=top).strip())


def show(ref: str, path: Path) -> str | None:
    """``path``'s content at ``ref``, or ``None`` when it did not exist there."""
    top = Path(git("rev-parse", "--show-toplevel").strip()).resolve()
    rel = path.resolve().relative_to(top).as_posix()
    try:
        return subprocess.run(
            ["git", "show", f"{ref}:{rel}"], capture_output=True, text=True, check=True, cwd=top
        ).stdout
    except subprocess.CalledProcessError:
        return None


def prompt_at(ref: str, recipe_path: Path) -> PromptText | None:
    """The prompt a recipe asked with at ``ref`` (``None`` when the recipe is new since then)."""
    import yaml

    text = show(ref, recipe_path)
    if text is None:
        return None
    raw: dict[str, Any] = yaml.safe_load(text) or {}
    cand = raw.get("candidate") or {}
    where = f"{recipe_path} at {ref}"
    if cand.get("kind") == "prompt" and cand.get("prompt"):
        ref_text = str(cand["prompt"])
        if is_registry_ref(ref_text):
            from ftlineage.tracking import load_registry_prompt

            registered, _, pinned = load_registry_prompt(ref_text)
            return parse_prompt(pinned, registered, where)
        file = Path(ref_text) if Path(ref_text).is_absolute() else recipe_path.parent / ref_text
        body = show(ref, file)
        if body is None:
            return None
        value: Any = yaml.safe_load(body) if file.suffix in (".yaml", ".yml", ".json") else body
        return parse_prompt(f"{file} at {ref}", value, where)
    return PromptText(str(raw.get("prompt_template", "{prompt}")), raw.get("system_prompt"), where)
