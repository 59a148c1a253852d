"""Load a candidate (``models:/name@alias``, ``runs:/``, or an exported model folder) and score it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage.errors import BadInputError
from ftlineage.models import PROMPT_TEMPLATE_FILE, load_model
from ftlineage.scoring import CaseScore
from ftlineage.suites import Suite
from ftlineage.training import evaluate_model


@dataclass
class Candidate:
    """A causal LM, its tokenizer and the prompt template it was tuned with."""

    uri: str
    model: Any
    tokenizer: Any
    template: str


def load_candidate(uri: str, template: str | None = None) -> Candidate:
    """Load ``uri``: an MLflow model URI of an ftlineage pyfunc, or a local exported model folder."""
    if uri.startswith(("models:/", "runs:/")):
        from ftlineage.tracking import load_pyfunc

        try:
            loaded = load_pyfunc(uri)
        except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; all mean "bad URI"
            raise BadInputError(f"model {uri!r} could not be loaded ({type(exc).__name__}: {exc})") from None
        return Candidate(uri, loaded.model, loaded.tokenizer, template or loaded.template)
    path = Path(uri)
    if not (path / "config.json").is_file():
        raise BadInputError(f"--model {uri!r} is neither a models:/ URI nor a model folder with config.json")
    sidecar = path / PROMPT_TEMPLATE_FILE
    if template is None and not sidecar.is_file():
        raise BadInputError(
            f"{uri}: no {PROMPT_TEMPLATE_FILE} beside the weights; pass the recipe "
            "(--recipe) so the prompt template is known"
        )
    model, tok = load_model(str(path))
    return Candidate(uri, model, tok, template or sidecar.read_text(encoding="utf-8"))


def score(candidate: Candidate, suite: Suite) -> tuple[dict[str, float], list[CaseScore]]:
    """Aggregated metrics and per-case scores of ``candidate`` on (a slice of) ``suite``."""
    return evaluate_model(candidate.model, candidate.tokenizer, suite, candidate.template)
