"""Stage 2: HF Trainer + PEFT builder, ``EvalGateCallback``, drift bands."""

from ftlineage.training._callback import CheckpointScore, EvalGateCallback
from ftlineage.training._data import PadCollator, tokenize_rows
from ftlineage.training._drift import DriftBand, drift_bands
from ftlineage.training._evaluate import evaluate_model
from ftlineage.training._trainer import (
    build_trainer,
    export_model,
    prepare_model,
    restore_checkpoint,
)

__all__ = [
    "CheckpointScore",
    "DriftBand",
    "EvalGateCallback",
    "PadCollator",
    "build_trainer",
    "drift_bands",
    "evaluate_model",
    "export_model",
    "prepare_model",
    "restore_checkpoint",
    "tokenize_rows",
]
