"""Stage 4: the production canary — sticky router, shadow pairs, anytime-valid monitor, rollback.

The pure core (router, judging, monitor, replay) is here; the HTTP service and its model
workers are adapters in ``ftlineage.canary._service`` and ``ftlineage.canary._worker``.
"""

from ftlineage.canary._judging import judge_pair, rubrics
from ftlineage.canary._monitor import Monitor, MonitorPolicy, MonitorStatus, PairObservation
from ftlineage.canary._replay import ReplayResult, read_traffic, replay
from ftlineage.canary._router import Route, Router
from ftlineage.canary._sequential import MeanSequence, radius, tune_rho
from ftlineage.canary._simulate import simulate_traffic

__all__ = [
    "MeanSequence",
    "Monitor",
    "MonitorPolicy",
    "MonitorStatus",
    "PairObservation",
    "ReplayResult",
    "Route",
    "Router",
    "judge_pair",
    "radius",
    "read_traffic",
    "replay",
    "rubrics",
    "simulate_traffic",
    "tune_rho",
]
