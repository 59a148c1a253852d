"""ftlineage: eval-gated, traceable LLM fine-tuning on MLflow, W&B/Weave and HF Trainer + PEFT.

The top-level API (imported on first use, so ``import ftlineage`` stays cheap)::

    import ftlineage

    result = ftlineage.run_job("recipes/healthcare_v17.yaml", None)   # the whole gated job
    suite = ftlineage.load_suite("healthcare_v17")                    # a suite by name or folder
    audited = ftlineage.audit_corpus([path], policy)                  # stage 1 on any corpus
    callback = ftlineage.EvalGateCallback(...)                        # stage 2 in your own Trainer
    decision = ftlineage.decide(...)                                  # the promotion rule

Each package has its own public API in its ``__all__``; modules whose names start with ``_``
are private to their package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftlineage.lazy import lazy_getattr

__version__ = "0.1.0"


def _quiet_false_alarms() -> None:
    """Raise two loggers whose warnings are false alarms to ERROR, unless the user set them.

    transformers imports torchao with every model; on a CPU build torchao warns that its
    CUDA-only kernels (mxfp8, cutlass) did not load, and torch that torchao registers enums
    the old way. Neither is actionable.
    """
    import logging

    for name in ("torchao", "torch.utils._pytree"):
        log = logging.getLogger(name)
        if log.level == logging.NOTSET:
            log.setLevel(logging.ERROR)


_quiet_false_alarms()

if TYPE_CHECKING:
    from ftlineage.audit import AuditReport, audit_corpus
    from ftlineage.errors import FtlineageError
    from ftlineage.gate import GateDecision, decide, decide_scores
    from ftlineage.pipeline import JobResult, gate_callback, gate_run, run_job
    from ftlineage.recipe import Recipe, load_recipe
    from ftlineage.suites import Suite
    from ftlineage.suites import load as load_suite
    from ftlineage.training import EvalGateCallback

__all__ = [
    "AuditReport",
    "EvalGateCallback",
    "FtlineageError",
    "GateDecision",
    "JobResult",
    "Recipe",
    "Suite",
    "__version__",
    "audit_corpus",
    "decide",
    "decide_scores",
    "gate_callback",
    "gate_run",
    "load_recipe",
    "load_suite",
    "run_job",
]

_LAZY = {
    "AuditReport": ("ftlineage.audit", "AuditReport"),
    "audit_corpus": ("ftlineage.audit", "audit_corpus"),
    "FtlineageError": ("ftlineage.errors", "FtlineageError"),
    "GateDecision": ("ftlineage.gate", "GateDecision"),
    "decide": ("ftlineage.gate", "decide"),
    "decide_scores": ("ftlineage.gate", "decide_scores"),
    "JobResult": ("ftlineage.pipeline", "JobResult"),
    "run_job": ("ftlineage.pipeline", "run_job"),
    "gate_run": ("ftlineage.pipeline", "gate_run"),
    "gate_callback": ("ftlineage.pipeline", "gate_callback"),
    "Recipe": ("ftlineage.recipe", "Recipe"),
    "load_recipe": ("ftlineage.recipe", "load_recipe"),
    "Suite": ("ftlineage.suites", "Suite"),
    "load_suite": ("ftlineage.suites", "load"),
    "EvalGateCallback": ("ftlineage.training", "EvalGateCallback"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)
