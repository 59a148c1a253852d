"""The task contract: typed cases, scorers, scoring plans and tasks, found through entry points.

* :class:`Case` — one eval case (``prompt`` or ``messages``, ``reference``, ``context``...).
* :class:`Scorer` — ``(case, output) -> scores``; NaN is unscored. Registry: ``ftlineage.scorers``.
* :class:`ScoringPlan` — how each suite part is scored; :func:`aggregate` names the metrics.
* :class:`Task` — a bundle of defaults and bundled suites. Registry: ``ftlineage.tasks``.
"""

from ftlineage.tasks._case import Case, Message, case_from_row, read_cases
from ftlineage.tasks._plan import (
    FamilySpec,
    GateMetric,
    PartScoring,
    ScoringPlan,
    aggregate,
    primary_of_case,
    produced_metrics,
    score_case,
    score_part,
)
from ftlineage.tasks._scorer import (
    BaseScorer,
    Scorer,
    ScorerSpec,
    available_scorers,
    build_scorer,
    nanmean,
    parse_scorer_arg,
)
from ftlineage.tasks._task import Task, available_tasks, build_suite, get_task, suite_builders

__all__ = [
    "BaseScorer",
    "Case",
    "FamilySpec",
    "GateMetric",
    "Message",
    "PartScoring",
    "Scorer",
    "ScorerSpec",
    "ScoringPlan",
    "Task",
    "aggregate",
    "available_scorers",
    "available_tasks",
    "build_scorer",
    "build_suite",
    "case_from_row",
    "get_task",
    "nanmean",
    "parse_scorer_arg",
    "primary_of_case",
    "produced_metrics",
    "read_cases",
    "score_case",
    "score_part",
    "suite_builders",
]
