"""Stage 4: the production canary — sticky router, shadow pairs, anytime-valid monitor, rollback.

The pure core (router, judging, monitor, replay) is here; the HTTP service and its model
workers are adapters in ``ftlineage.canary._service`` and ``ftlineage.canary._worker``.
"""

from typing import TYPE_CHECKING

from ftlineage.canary._judging import judge_pair, rubrics
from ftlineage.canary._monitor import Monitor, MonitorPolicy, MonitorStatus, PairObservation
from ftlineage.canary._replay import ReplayResult, read_traffic, replay
from ftlineage.canary._router import Route, Router
from ftlineage.canary._sequential import MeanSequence, radius, tune_rho
from ftlineage.canary._simulate import simulate_traffic
from ftlineage.lazy import lazy_getattr

if TYPE_CHECKING:
    from ftlineage.canary._analysis import AnalysisService, analysis, build_analysis_app, verdict
    from ftlineage.canary._serve import RegistryHooks, serve
    from ftlineage.canary._study import alarm_study

__all__ = [
    "alarm_study",
    "analysis",
    "AnalysisService",
    "build_analysis_app",
    "judge_pair",
    "MeanSequence",
    "Monitor",
    "MonitorPolicy",
    "MonitorStatus",
    "PairObservation",
    "radius",
    "read_traffic",
    "RegistryHooks",
    "replay",
    "ReplayResult",
    "Route",
    "Router",
    "rubrics",
    "serve",
    "simulate_traffic",
    "tune_rho",
    "verdict",
]


_LAZY = {
    "serve": ("_serve", "serve"),
    "alarm_study": ("_study", "alarm_study"),
    "RegistryHooks": ("_serve", "RegistryHooks"),
    "AnalysisService": ("_analysis", "AnalysisService"),
    "analysis": ("_analysis", "analysis"),
    "build_analysis_app": ("_analysis", "build_analysis_app"),
    "verdict": ("_analysis", "verdict"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)
