"""The registered model: an MLflow pyfunc that answers a transcript with JSON."""

from __future__ import annotations

from typing import Any

from mlflow.pyfunc import PythonModel


class PostCallModel(PythonModel):
    """Greedy generation from the fine-tuned (merged) model with the recipe's prompt template.

    Input: a DataFrame with a ``transcript`` column, or a list of strings.
    Output: a list of completions (JSON strings).
    """

    def __init__(self, template: str, max_new_tokens: int) -> None:
        self.template = template
        self.max_new_tokens = max_new_tokens

    def load_context(self, context: Any) -> None:
        """Load model and tokenizer from the logged artifact directory."""
        from ftlineage.models import load_model

        self.model, self.tokenizer = load_model(context.artifacts["model_dir"])

    # No annotations here on purpose: MLflow reads predict's type hints as a schema.
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        """Extract JSON from each transcript."""
        from ftlineage.models import generate

        if hasattr(model_input, "columns"):
            column = "transcript" if "transcript" in model_input.columns else model_input.columns[0]
            texts = [str(t) for t in model_input[column]]
        else:
            texts = [str(t) for t in model_input]
        prompts = [self.template.replace("{prompt}", t) for t in texts]
        outputs, _ = generate(self.model, self.tokenizer, prompts, max_new_tokens=self.max_new_tokens)
        return outputs
