"""The task contract: typed cases, scorers, scoring plans and tasks, found through entry points.

* :class:`Case` — one eval case (``prompt`` or ``messages``, ``reference``, ``context``...).
* :class:`Scorer` — ``(case, output) -> scores``; NaN is unscored. Registry: ``ftlineage.scorers``.
* :class:`ScoringPlan` — how each suite part is scored; :func:`aggregate` names the metrics.
* :class:`Task` — a bundle of defaults and bundled suites. Registry: ``ftlineage.tasks``.
"""

from typing import TYPE_CHECKING

from ftlineage.lazy import lazy_getattr
from ftlineage.tasks._case import Case, Message, case_from_row, read_cases
from ftlineage.tasks._plan import (
    FamilySpec,
    GateMetric,
    PartScoring,
    ScoringPlan,
    accepts_metric,
    aggregate,
    aggregate_any,
    case_failures,
    default_gate,
    plan_of,
    primary,
    primary_of_case,
    produced_metrics,
    score_case,
    score_part,
)
from ftlineage.tasks._rubric import Rubric
from ftlineage.tasks._scorer import (
    BaseScorer,
    Direction,
    Scorer,
    ScorerSpec,
    available_scorers,
    build_scorer,
    default_failed_checks,
    failed_checks,
    nanmean,
    parse_scorer_arg,
    ungrounded_check,
)
from ftlineage.tasks._task import (
    Task,
    available_tasks,
    build_suite,
    get_task,
    pretraining_cases,
    suite_builders,
)

if TYPE_CHECKING:
    from ftlineage.tasks._check import check_suite

__all__ = [
    "accepts_metric",
    "aggregate",
    "aggregate_any",
    "available_scorers",
    "available_tasks",
    "BaseScorer",
    "build_scorer",
    "build_suite",
    "Case",
    "case_failures",
    "case_from_row",
    "check_suite",
    "default_gate",
    "default_failed_checks",
    "failed_checks",
    "Direction",
    "FamilySpec",
    "GateMetric",
    "get_task",
    "pretraining_cases",
    "Message",
    "nanmean",
    "parse_scorer_arg",
    "PartScoring",
    "plan_of",
    "primary",
    "primary_of_case",
    "produced_metrics",
    "read_cases",
    "Rubric",
    "score_case",
    "score_part",
    "Scorer",
    "ScorerSpec",
    "ScoringPlan",
    "suite_builders",
    "Task",
    "ungrounded_check",
]


_LAZY = {
    "check_suite": ("_check", "check_suite"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)
