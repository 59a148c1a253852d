"""Load-time checks of a suite's scoring.

Every scorer builds, every family is scored, every declared gate metric is one the scorers
produce. Errors name ``suite.yaml`` and the part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftlineage.errors import BadInputError, SuiteError
from ftlineage.tasks._plan import accepts_metric
from ftlineage.tasks._scorer import ScorerSpec, build_scorer

if TYPE_CHECKING:
    from ftlineage.suites import Suite


def check_suite(suite: Suite) -> None:
    """Raise :class:`SuiteError` on the first scoring problem of ``suite``."""
    from ftlineage.suites import key_line

    where = str(suite.path / "suite.yaml")
    for part, spec in suite.specs.items():
        keyed: list[tuple[tuple[str, int | str], ScorerSpec]] = [
            (("scorers", i), s) for i, s in enumerate(spec.scorers)
        ]
        keyed += [(("families", fam), s) for fam, s in spec.families.items()]
        for key, scorer in keyed:
            loc = ("parts", part, *key)
            try:
                build_scorer(scorer, f"{where}:{key_line(suite.path, loc)}: {'.'.join(map(str, loc))}")
            except BadInputError as exc:
                raise SuiteError(str(exc)) from None
        if part == "heldout" and not spec.scorers:
            raise SuiteError(
                f"{where}: part 'heldout' names no scorers; add e.g. `scorers: [{{name: exact_match}}]` "
                "(`ftlineage suite new --scorer ...` writes them)"
            )
        if spec.families:
            for case in suite.cases(part):
                if case.family not in spec.families:
                    raise SuiteError(
                        f"{where}: part {part!r} case {case.id!r} has family {case.family!r}, which no "
                        f"scorer covers; scored families: {', '.join(sorted(spec.families))}"
                    )
    produced = suite.produced_metrics()
    for metric in suite.gate_metrics():
        if not accepts_metric(suite.plan, metric.metric, produced):
            raise SuiteError(
                f"{where}: gate metric {metric.metric!r} is not produced by this suite's scorers; "
                f"they produce {', '.join(sorted(produced))}"
            )
