"""``ftlineage score``: score a saved, registered or served model on a suite with any generation backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def score(
    model: Annotated[
        str,
        typer.Argument(
            help="models:/name@alias, runs:/, or an exported model folder (its tokenizer renders)"
        ),
    ],
    suite: Annotated[str, typer.Option(help="suite NAME or DIR")] = "healthcare_v17",
    recipe: Annotated[Optional[Path], typer.Option(help="recipe whose prompt template to use")] = None,  # noqa: UP045
    backend: Annotated[str, typer.Option(help="hf (in process), openai (an endpoint) or vllm (GPU)")] = "hf",
    base_url: Annotated[Optional[str], typer.Option(help="openai: e.g. http://127.0.0.1:8000/v1")] = None,  # noqa: UP045
    served_model: Annotated[Optional[str], typer.Option(help="openai: the served model's name")] = None,  # noqa: UP045
    api_key_env: Annotated[str, typer.Option(help="openai: variable holding the key")] = "OPENAI_API_KEY",
    limit: Annotated[Optional[int], typer.Option(help="held-out cases (drift: twice as many)")] = None,  # noqa: UP045
    out: Annotated[Optional[Path], typer.Option(help="also write the metrics as JSON here")] = None,  # noqa: UP045
    tiers: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="also quantize and score these tiers, e.g. int8,int4 (hf backend)"),
    ] = None,
    device: Annotated[
        str, typer.Option(help="--tiers: where tiers are quantized (auto, cpu, cuda)")
    ] = "auto",
) -> None:
    """Score a model on a suite's held-out and drift parts; prints the metrics as JSON.

    Every backend gets the same rendered prompts (the model's prompt format, chat template
    included) and decodes greedily, so the same model scores the same whichever serves it.
    With ``--tiers``, each tier is quantized from the model and scored the same way, with its
    size on disk and its next-token KL / top-1 agreement against the model (no gate).
    """
    from pydantic import ValidationError

    from ftlineage import suites
    from ftlineage.ci import load_candidate
    from ftlineage.errors import BadInputError
    from ftlineage.models import BACKENDS, make_generator
    from ftlineage.recipe import GenerationSpec, load_recipe
    from ftlineage.training import evaluate_model

    try:
        spec = GenerationSpec.model_validate(
            {"backend": backend, "base_url": base_url, "model": served_model, "api_key_env": api_key_env}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInputError(f"--backend {backend!r}: {first['msg']}; valid: {', '.join(BACKENDS)}") from None
    if tiers:
        typer.echo(json.dumps(_tiers(model, suite, recipe, tiers, limit, device, backend), indent=1))
        return
    template = load_recipe(recipe).prompt_template if recipe else None
    served = spec.backend == "openai"  # the model answers elsewhere: its tokenizer renders the prompts
    candidate = load_candidate(model, template, weights=not served)
    fmt = candidate.template
    specials = fmt.add_special_tokens
    gen = make_generator(spec, candidate.model, candidate.tokenizer, add_special_tokens=specials)
    metrics, _ = evaluate_model(
        candidate.model, candidate.tokenizer, suites.load(suite), fmt, limit=limit, generator=gen
    )
    text = json.dumps(dict(sorted(metrics.items())), indent=1)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def _tiers(
    model: str, suite: str, recipe: Path | None, names: str, limit: int | None, device: str, backend: str
) -> dict[str, dict[str, float]]:
    from pydantic import ValidationError

    from ftlineage import suites
    from ftlineage.ci import load_candidate
    from ftlineage.errors import BadInputError
    from ftlineage.models import resolve_device
    from ftlineage.recipe import load_recipe
    from ftlineage.tiers import TierSpec, score_tiers, tier_list

    if backend != "hf":
        raise BadInputError(f"--tiers quantizes the weights in process; use --backend hf, not {backend!r}")
    try:
        specs = [TierSpec.model_validate(t) for t in tier_list(names)]
    except ValidationError as exc:
        raise BadInputError(
            f"--tiers {names!r}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}"
        ) from None
    template = load_recipe(recipe).prompt_template if recipe else None
    candidate = load_candidate(model, template)
    return score_tiers(
        candidate.model,
        candidate.tokenizer,
        candidate.template,
        suites.load(suite),
        specs,
        limit=limit,
        device=resolve_device(device),
    )
