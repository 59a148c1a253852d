"""Run prompt CI for one recipe: which model answers, both prompts scored on the same slice, paired."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ftlineage.candidates import PromptText
from ftlineage.ci._baseline import slice_suite
from ftlineage.ci._paired import Paired, changed, paired, prompt_at


def current_prompt(recipe: Any) -> PromptText:
    """The prompt the recipe asks with now (a prompt candidate's, else the recipe's template)."""
    if recipe.candidate.kind == "prompt":
        from ftlineage.pipeline import prompt_texts

        return prompt_texts(recipe, str(recipe.source_path))[0]
    return PromptText(recipe.prompt_template, recipe.system_prompt, str(recipe.source_path))


def watched(recipe: Any, suite: Any) -> list[Path]:
    """The files a recipe's prompt and items come from: the recipe, its prompt file, the suite."""
    paths = [Path(str(recipe.source_path)), Path(suite.path)]
    ref = recipe.candidate.prompt
    if recipe.candidate.kind == "prompt" and ref and not str(ref).startswith("prompts:/"):
        base = Path(str(recipe.source_path)).parent
        paths.append(Path(ref) if Path(ref).is_absolute() else base / ref)
    return paths


def _answerer(recipe: Any) -> tuple[Any, Any, Any]:
    """``(model, tokenizer, endpoint generator factory)`` of the model both prompts are asked of."""
    from ftlineage.candidates import generator
    from ftlineage.models import load_model, resolve_base
    from ftlineage.settings import Settings

    spec = recipe.candidate.endpoint()
    if spec is not None:
        return None, None, lambda system: generator(spec, system)
    bm = recipe.base_model
    ref = str(recipe.candidate.path) if recipe.candidate.kind == "model" else None
    if ref is None:
        ref = resolve_base(bm, Settings.from_env().cache_dir, progress=False)
    elif not Path(ref).is_absolute():
        ref = str(Path(str(recipe.source_path)).parent / ref)
    model, tok = load_model(ref, device=bm.device, dtype=bm.dtype)
    return model, tok, None


def run_recipe(recipe_path: Path, ref: str, slice_n: int) -> Paired | str:
    """The paired comparison for one recipe, or why it was skipped."""
    from ftlineage import suites
    from ftlineage.models import PromptFormat, format_for, make_generator
    from ftlineage.recipe import load_recipe
    from ftlineage.training import evaluate_model

    recipe = load_recipe(recipe_path)
    suite = suites.load(recipe.suite)
    if not changed(ref, watched(recipe, suite)):
        return f"{recipe_path.name}: no recipe, prompt or suite file changed since {ref}"
    base = prompt_at(ref, recipe_path)
    if base is None:
        return f"{recipe_path.name}: new since {ref}, so there is no base prompt to pair with"
    head = current_prompt(recipe)
    items = slice_suite(suite, slice_n)
    model, tok, endpoint = _answerer(recipe)
    scores = []
    for prompt in (head, base):
        if endpoint is not None:
            fmt, gen = PromptFormat(template=prompt.template, system=prompt.system), endpoint(prompt.system)
        else:
            fmt = format_for(tok, prompt.template, chat=recipe.chat_mode(), system=prompt.system)
            gen = make_generator(recipe.generation, model, tok, add_special_tokens=fmt.add_special_tokens)
        scores.append(evaluate_model(model, tok, items, fmt, generator=gen)[1])
    from ftlineage.ci._paired import compare
    from ftlineage.tasks import aggregate_any

    metric = suite.primary_metric()
    held = [[c for c in s if c.part == "heldout"] for s in scores]
    counts = compare(held[0], held[1], lambda c: aggregate_any([c], suite.plan).get(metric, math.nan))
    return paired(recipe_path.name, suite.meta.name, metric, counts, recipe.arena.confidence)
