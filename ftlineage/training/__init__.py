"""Stage 2: HF Trainer + PEFT builder and ``EvalGateCallback`` (drift bands: ``ftlineage.scoring``)."""

from ftlineage.training._callback import CheckpointSink, EvalGateCallback, load_history
from ftlineage.training._data import PadCollator, tokenize_rows
from ftlineage.training._evaluate import case_source, evaluate_model
from ftlineage.training._plot import plot_checkpoints
from ftlineage.training._policy import Assessment, CheckpointScore, GatePolicy, assess, band_metrics
from ftlineage.training._trainer import (
    build_trainer,
    export_model,
    prepare_model,
    restore_checkpoint,
)

__all__ = [
    "assess",
    "Assessment",
    "band_metrics",
    "build_trainer",
    "CheckpointScore",
    "CheckpointSink",
    "EvalGateCallback",
    "evaluate_model",
    "export_model",
    "GatePolicy",
    "load_history",
    "PadCollator",
    "plot_checkpoints",
    "prepare_model",
    "restore_checkpoint",
    "case_source",
    "tokenize_rows",
]
