"""ftlineage: eval-gated, traceable LLM fine-tuning on MLflow, W&B/Weave and HF Trainer + PEFT."""

__version__ = "0.1.0"

__all__ = ["__version__"]
