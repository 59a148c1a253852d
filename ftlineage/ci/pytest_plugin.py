"""pytest plugin: ``pytest --eval-suite=NAME --eval-model=URI [--strict-regression] [--eval-slice N]``.

Registered through the ``pytest11`` entry point. Suite cases become test items (``eval::part/id``)
carrying their scores; one last item, ``eval::regression-gate``, compares the aggregated metrics
with the pinned baseline for the suite digest under the promotion rule and fails with one line per
regressed metric when ``--strict-regression`` is given.

The plugin loads in every pytest run where ftlineage is installed, so every option is namespaced
(``--eval-*``, ``--strict-regression``): a project's own ``--model`` or ``--slice`` stays free.
Nothing is registered unless ``--eval-suite`` or ``--eval-recipes`` is given.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ftlineage.ci._baseline import DEFAULT_SLICE, Baseline, check_append_only, load_baseline, slice_suite
from ftlineage.errors import FtlineageError


def pytest_addoption(parser: pytest.Parser) -> None:
    """The eval-gate options."""
    group = parser.getgroup("ftlineage", "ftlineage eval gate")
    group.addoption("--eval-suite", default=None, help="suite NAME or DIR to evaluate the candidate on")
    group.addoption(
        "--eval-model", default=None, help="candidate: models:/name@alias, runs:/..., or a model folder"
    )
    group.addoption(
        "--eval-slice",
        type=int,
        default=DEFAULT_SLICE,
        help=f"seeded slice of held-out cases (drift gets twice as many); 0 = all (default {DEFAULT_SLICE})",
    )
    group.addoption("--strict-regression", action="store_true", help="fail on any regression past the rule")
    group.addoption("--eval-baseline", default=None, help="baseline file (default: baselines/<suite>.json)")
    group.addoption(
        "--eval-recipe", default=None, help="recipe: prompt template and the gate's metrics/threshold"
    )
    group.addoption(
        "--eval-changed-since",
        default=None,
        help="git ref: skip the eval unless a file feeding the prompt SHA changed since it",
    )
    group.addoption(
        "--eval-recipes",
        action="append",
        default=[],
        help="prompt CI: recipe files or globs; with --eval-changed-since REF, each changed recipe's prompt "
        "at REF and now are asked of the same model on the same items (W/L/T)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the eval session when ``--eval-suite`` is given (prompt CI with ``--eval-recipes``)."""
    if config.getoption("--eval-recipes"):
        from ftlineage.ci._prompt_session import PromptCISession

        try:
            prompt_ci = PromptCISession(config)
        except FtlineageError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(prompt_ci, "ftlineage-prompt-ci")
    if config.getoption("--eval-suite"):
        try:
            session = EvalSession(config)
        except FtlineageError as exc:  # bad suite, baseline or recipe: a usage error, not a crash
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(session, "ftlineage-eval-session")


def _rule(recipe: Any, suite: Any, where: str | None) -> Any:
    """The recipe's gate bound to the suite (its declared metrics when the recipe names none)."""
    from ftlineage.recipe import GateSpec, bind_suite, suite_rules

    if recipe is not None:
        return bind_suite(recipe, suite, str(where)).gate
    return GateSpec(metrics=suite_rules(suite))


class EvalSession:
    """Holds the suite slice, the candidate's scores and the baseline for one pytest session."""

    def __init__(self, config: pytest.Config) -> None:
        from ftlineage import suites
        from ftlineage.recipe import load_recipe

        self.config = config
        if not config.getoption("--eval-model"):
            raise FtlineageError(
                "--eval-suite needs --eval-model (models:/name@alias, runs:/..., or a model folder)"
            )
        name = config.getoption("--eval-suite")
        recipe_path = config.getoption("--eval-recipe")
        self.recipe = load_recipe(Path(recipe_path)) if recipe_path else None
        self.full = suites.load(name)
        self.rule = _rule(self.recipe, self.full, recipe_path)
        self.suite = slice_suite(self.full, config.getoption("--eval-slice"))
        path = config.getoption("--eval-baseline") or f"baselines/{self.full.meta.name}.json"
        self.baseline_path = Path(path)
        self.baseline: Baseline | None = (
            load_baseline(self.baseline_path) if self.baseline_path.is_file() else None
        )
        if self.baseline:
            check_append_only(self.full, self.baseline)
        self.skip_reason = _unchanged(config.getoption("--eval-changed-since"), self.full.path, recipe_path)
        self._scores: dict[str, dict[str, float]] | None = None
        self.metrics: dict[str, float] = {}
        self.unscored_both: list[str] = []

    def scores(self) -> dict[str, dict[str, float]]:
        """Evaluate the candidate once (batched), then serve per-case scores."""
        if self._scores is None:
            from ftlineage.ci._candidate import load_candidate, score

            uri = self.config.getoption("--eval-model")
            template = self.recipe.prompt_template if self.recipe else None
            self.metrics, cases = score(load_candidate(uri, template), self.suite)
            self._scores = {f"{c.part}/{c.id}": c.scores for c in cases}
        return self._scores

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Append one item per sliced case, then the regression gate."""
        for part in ("heldout", "drift"):
            for case in getattr(self.suite, part):
                items.append(
                    EvalCaseItem.from_parent(
                        session,
                        name=f"eval::{part}/{case.id}",
                        eval_session=self,
                        key=f"{part}/{case.id}",
                    )
                )
        items.append(RegressionGateItem.from_parent(session, name="eval::regression-gate", eval_session=self))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the candidate's metrics next to the baseline."""
        if not self.metrics:
            return
        terminalreporter.section(f"ftlineage eval: {self.full.meta.name} (slice {len(self.suite.heldout)})")
        base = self.baseline.metrics if self.baseline else {}
        for name in self.unscored_both:
            terminalreporter.write_line(
                f"note: {name} is unscored for candidate and baseline alike; not gated"
            )
        for name in sorted(self.metrics):
            terminalreporter.write_line(
                f"{name:32s} {self.metrics[name]:8.4f}   baseline {base.get(name, math.nan):8.4f}"
            )


class EvalCaseItem(pytest.Item):
    """One suite case: scored, its scores attached as user properties."""

    def __init__(self, *, eval_session: EvalSession, key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eval_session, self.key = eval_session, key

    def runtest(self) -> None:
        """Fail only when the case could not be scored at all."""
        if self.eval_session.skip_reason:
            pytest.skip(self.eval_session.skip_reason)
        scores = self.eval_session.scores().get(self.key)
        if scores is None or all(math.isnan(v) for v in scores.values()):
            raise AssertionError(f"{self.key}: the candidate's answer could not be scored")
        self.user_properties.extend(sorted(scores.items()))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the case lives."""
        return self.eval_session.full.path, 0, self.name


class RegressionGateItem(pytest.Item):
    """The promotion rule's metric checks against the pinned baseline."""

    def __init__(self, *, eval_session: EvalSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eval_session = eval_session

    def runtest(self) -> None:
        """One line per regressed metric; fails only under ``--strict-regression``."""
        from ftlineage.gate import check_metric

        es = self.eval_session
        if es.skip_reason:
            pytest.skip(es.skip_reason)
        strict = self.config.getoption("--strict-regression")
        if es.baseline is None:
            where = es.baseline_path
            msg = f"no baseline at {where}; pin one with `ftlineage baseline pin --out {where}`"
            if strict:
                raise AssertionError(msg)
            pytest.skip(msg)
        from ftlineage.suites import retired_hint

        if es.baseline.suite_sha != es.full.sha or es.baseline.slice != self.config.getoption("--eval-slice"):
            raise AssertionError(
                f"baseline {es.baseline_path} was pinned on suite digest {es.baseline.suite_sha[:12]} "
                f"slice {es.baseline.slice}; now {es.full.sha[:12]} slice "
                f"{self.config.getoption('--eval-slice')}: re-pin it{retired_hint(es.baseline.suite_sha)}"
            )
        es.scores()
        base = es.baseline.metrics
        # A metric unscored for both (e.g. no JSON produced at all) cannot regress; it is listed, not judged.
        es.unscored_both = [
            m.name for m in es.rule.metrics or () if _nan(es.metrics.get(m.name)) and _nan(base.get(m.name))
        ]
        checks = [
            check_metric(m, es.metrics.get(m.name), base.get(m.name), es.rule.max_regression)
            for m in es.rule.metrics or ()
            if m.name not in es.unscored_both
        ]
        failed = [c for c in checks if not c.passed]
        if failed and strict:
            rules = {m.name: m for m in es.rule.metrics or ()}
            raise AssertionError("\n".join(_regression_line(c, rules[c.name].direction, es) for c in failed))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        """Just the regression lines, no traceback."""
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the baseline lives."""
        return self.eval_session.baseline_path, 0, self.name


def _nan(value: float | None) -> bool:
    return value is None or math.isnan(value)


def _regression_line(check: Any, direction: str, es: EvalSession) -> str:
    cand, base = es.metrics.get(check.name, math.nan), es.baseline.metrics.get(check.name, math.nan)  # type: ignore[union-attr]
    rel = es.rule.max_regression
    bound = base * (1 - rel) if direction == "higher" else base * (1 + rel)
    return (
        f"REGRESSION {check.name}: candidate {cand:.4f}, baseline {base:.4f}, threshold {bound:.4f} "
        f"({'at least' if direction == 'higher' else 'at most'}; {rel:.0%} of baseline)"
    )


def _unchanged(ref: str | None, suite_dir: Path, recipe: str | None) -> str | None:
    """A skip reason when no file feeding the prompt SHA changed since ``ref`` (None: run).

    Watched: the recipe (its prompt template) and the suite folder (its drift template and cases),
    where they live inside the current git work tree; a pip-installed suite cannot change in a PR.
    """
    if not ref:
        return None
    try:
        top = Path(_git("rev-parse", "--show-toplevel").strip()).resolve()
        candidates = [suite_dir] + ([Path(recipe)] if recipe else [])
        watched = [str(p.resolve()) for p in candidates if p.resolve().is_relative_to(top)]
        if not watched:
            return None
        changed = _git("diff", "--name-only", ref, "--", *watched)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise FtlineageError(f"--eval-changed-since {ref!r}: git failed ({exc})") from None
    return None if changed.strip() else f"no prompt, recipe or suite file changed since {ref}"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout
