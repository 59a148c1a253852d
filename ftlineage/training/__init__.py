"""Stage 2: HF Trainer + PEFT builder and ``EvalGateCallback`` (drift bands: ``ftlineage.scoring``)."""

from ftlineage.training._callback import CheckpointSink, EvalGateCallback, load_history
from ftlineage.training._data import PadCollator, tokenize_rows
from ftlineage.training._evaluate import evaluate_model
from ftlineage.training._policy import Assessment, CheckpointScore, GatePolicy, assess
from ftlineage.training._trainer import (
    build_trainer,
    export_model,
    prepare_model,
    restore_checkpoint,
)

__all__ = [
    "Assessment",
    "CheckpointScore",
    "CheckpointSink",
    "EvalGateCallback",
    "GatePolicy",
    "assess",
    "load_history",
    "PadCollator",
    "build_trainer",
    "evaluate_model",
    "export_model",
    "prepare_model",
    "restore_checkpoint",
    "tokenize_rows",
]
