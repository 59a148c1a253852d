"""The pytest side of prompt CI: one item per recipe (``eval::prompt/<recipe>``), a summary line each."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pytest

from ftlineage.ci._paired import Paired
from ftlineage.errors import FtlineageError


class PromptCISession:
    """The recipes to check and, once run, each one's paired result or skip reason."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.ref = config.getoption("--eval-changed-since")
        if not self.ref:
            raise FtlineageError(
                "--eval-recipes needs --eval-changed-since REF (the base the prompts are paired with)"
            )
        found: list[Path] = []
        for pattern in config.getoption("--eval-recipes"):
            matches = sorted(glob.glob(pattern)) or ([pattern] if Path(pattern).is_file() else [])
            if not matches:
                raise FtlineageError(f"--eval-recipes {pattern!r}: no recipe file matches it")
            found += [Path(m) for m in matches if m.endswith((".yaml", ".yml"))]
        self.recipes = sorted(set(found))
        self.results: dict[str, Paired | str] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """One item per recipe."""
        for path in self.recipes:
            items.append(
                PromptItem.from_parent(session, name=f"eval::prompt/{path.stem}", ci=self, path=path)
            )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """One line per recipe: ran (W/L/T and what a decision needs) or skipped (why)."""
        if not self.results:
            return
        terminalreporter.section(f"ftlineage prompt CI against {self.ref}")
        for result in self.results.values():
            terminalreporter.write_line(result if isinstance(result, str) else result.line(self.ref))


class PromptItem(pytest.Item):
    """A recipe's head prompt against its prompt at the ref; fails when head is reliably worse."""

    def __init__(self, *, ci: PromptCISession, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ci, self.path = ci, path

    def runtest(self) -> None:
        """Run (or skip) the comparison; attach W/L/T as user properties."""
        from ftlineage.ci._prompt_ci import run_recipe

        result = run_recipe(self.path, self.ci.ref, self.config.getoption("--eval-slice"))
        self.ci.results[str(self.path)] = result
        if isinstance(result, str):
            pytest.skip(result)
        self.user_properties.extend(
            [
                ("wins", result.wins),
                ("losses", result.losses),
                ("ties", result.ties),
                ("needed", result.needed),
            ]
        )
        if result.verdict == "worse":
            raise AssertionError(result.line(self.ci.ref))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        """The one line, no traceback."""
        if isinstance(excinfo.value, AssertionError | FtlineageError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        """The recipe."""
        return self.path, 0, self.name
