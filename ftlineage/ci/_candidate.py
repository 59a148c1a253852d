"""Load a candidate (``models:/name@alias``, ``runs:/``, or an exported model folder) and score it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage.errors import BadInputError
from ftlineage.models import FORMAT_FILE, PromptFormat, load_model, load_tokenizer, read_format
from ftlineage.scoring import CaseScore
from ftlineage.suites import Suite
from ftlineage.training import evaluate_model


@dataclass
class Candidate:
    """A causal LM, its tokenizer and the prompt format it was tuned with."""

    uri: str
    model: Any
    tokenizer: Any
    template: PromptFormat


def load_candidate(uri: str, template: str | None = None, *, weights: bool = True) -> Candidate:
    """Load ``uri``: an MLflow model URI of an ftlineage pyfunc, or a local exported model folder.

    ``template`` (a recipe's text template) replaces the saved one; a saved chat template stays.
    ``weights=False`` loads a folder's tokenizer and format only (``model`` is ``None``): enough
    to render prompts for the same model served elsewhere. A pyfunc URI always loads whole.
    """
    if uri.startswith(("models:/", "runs:/")):
        from ftlineage.tracking import check_server, load_pyfunc

        check_server()  # MLflow would retry a server that does not answer for minutes
        try:
            loaded = load_pyfunc(uri)
        except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; all mean "bad URI"
            raise BadInputError(f"model {uri!r} could not be loaded ({type(exc).__name__}: {exc})") from None
        fmt = loaded.template.with_template(template) if template else loaded.template
        return Candidate(uri, loaded.model, loaded.tokenizer, fmt)
    path = Path(uri)
    if not (path / "config.json").is_file():
        raise BadInputError(f"model {uri!r} is neither a models:/ URI nor a model folder with config.json")
    saved = read_format(path)
    if template is None and saved is None:
        raise BadInputError(
            f"{uri}: no {FORMAT_FILE} beside the weights; pass the recipe "
            "(--recipe; --eval-recipe under pytest) so the prompt template is known"
        )
    fmt = saved.with_template(template) if saved and template else saved or PromptFormat(str(template))
    if not weights:
        return Candidate(uri, None, load_tokenizer(str(path)), fmt)
    model, tok = load_model(str(path))
    return Candidate(uri, model, tok, fmt)


def score(candidate: Candidate, suite: Suite) -> tuple[dict[str, float], list[CaseScore]]:
    """Aggregated metrics and per-case scores of ``candidate`` on (a slice of) ``suite``."""
    return evaluate_model(candidate.model, candidate.tokenizer, suite, candidate.template)
