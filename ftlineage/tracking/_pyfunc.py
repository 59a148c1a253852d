"""The registered model: an MLflow pyfunc that answers a transcript with JSON."""

from __future__ import annotations

from typing import Any

from mlflow.pyfunc import PythonModel

from ftlineage.models import PromptFormat


class PostCallModel(PythonModel):
    """Greedy generation from the fine-tuned (merged) model in the prompt format it was tuned with.

    The format is the recipe's text template, or the model's chat template around it.
    Input: a DataFrame with a ``transcript`` column, or a list of strings.
    Output: a list of completions (JSON strings).
    """

    def __init__(self, template: str | PromptFormat, max_new_tokens: int) -> None:
        fmt = template if isinstance(template, PromptFormat) else PromptFormat(template=template)
        self.template = fmt.template  # what versions logged before chat support carry
        self.prompt_format = fmt.to_json()
        self.max_new_tokens = max_new_tokens

    @property
    def fmt(self) -> PromptFormat:
        """The prompt format (a model logged before chat support has only its text template)."""
        saved = getattr(self, "prompt_format", None)
        return PromptFormat.from_json(saved) if saved else PromptFormat(template=self.template)

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
        fmt = self.fmt
        prompts = fmt.render_all(self.tokenizer, texts)
        outputs, _ = generate(
            self.model,
            self.tokenizer,
            prompts,
            max_new_tokens=self.max_new_tokens,
            add_special_tokens=fmt.add_special_tokens,
        )
        return outputs
