"""The registered model: an MLflow pyfunc that answers a prompt with the model's completion.

A trained/model candidate carries its weights; an endpoint candidate carries only
``ftlineage_endpoint.json`` (URL, served model, the *name* of the key's environment variable) and
answers through the endpoint, so ``@champion`` can point at a hosted model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlflow.pyfunc import PythonModel

from ftlineage.models import PromptFormat

ENDPOINT_FILE = "ftlineage_endpoint.json"


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
        """Load model and tokenizer from the logged artifact directory (or connect to the endpoint)."""
        from ftlineage.models import OpenAIGenerator, load_model

        folder = Path(context.artifacts["model_dir"])
        self.endpoint = None
        if (folder / ENDPOINT_FILE).is_file():
            spec = json.loads((folder / ENDPOINT_FILE).read_text(encoding="utf-8"))
            self.endpoint = OpenAIGenerator(
                spec["base_url"],
                spec["model"],
                spec.get("api_key_env"),
                api=spec["api"],
                system=spec.get("system"),
            )
            self.model, self.tokenizer = None, None
            return
        self.model, self.tokenizer = load_model(str(folder))

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
        if getattr(self, "endpoint", None) is not None:
            return self.endpoint.generate(prompts, max_new_tokens=self.max_new_tokens)[0]
        outputs, _ = generate(
            self.model,
            self.tokenizer,
            prompts,
            max_new_tokens=self.max_new_tokens,
            add_special_tokens=fmt.add_special_tokens,
        )
        return outputs
