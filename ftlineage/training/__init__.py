"""Stage 2: HF Trainer + PEFT builder and ``EvalGateCallback`` (drift bands: ``ftlineage.scoring``)."""

from ftlineage.training._callback import CheckpointScore, EvalGateCallback
from ftlineage.training._data import PadCollator, tokenize_rows
from ftlineage.training._evaluate import evaluate_model
from ftlineage.training._trainer import (
    build_trainer,
    export_model,
    prepare_model,
    restore_checkpoint,
)

__all__ = [
    "CheckpointScore",
    "EvalGateCallback",
    "PadCollator",
    "build_trainer",
    "evaluate_model",
    "export_model",
    "prepare_model",
    "restore_checkpoint",
    "tokenize_rows",
]
