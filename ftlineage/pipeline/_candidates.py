"""Stage 2 for candidates not trained here: score a model, an endpoint or a prompt against its baseline.

Each kind ends as the same :class:`~ftlineage.pipeline.Trained` the training stage hands on
(scores of both sides written as ``scores/*.json``, lineage recorded, and for weights an
``export/`` folder), so the arena, the rule, the card and the registry path are the ones a
trained candidate takes. The arms say who answers each side: a model in process or an endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftlineage import lineage
from ftlineage import tags as T
from ftlineage.candidates import BaselineSpec, EndpointSpec, PromptText, generator, identify
from ftlineage.errors import BadInputError, RecipeError
from ftlineage.models import (
    FORMAT_FILE,
    PROMPT_TEMPLATE_FILE,
    PromptFormat,
    format_for,
    load_model,
    make_generator,
    resolve_base,
)
from ftlineage.pipeline._context import Arm, JobContext, Trained
from ftlineage.pipeline._stages import record_values, write_scores
from ftlineage.scoring import CaseScore, SuiteScores
from ftlineage.tracking import ENDPOINT_FILE
from ftlineage.training import evaluate_model


def score_arm(ctx: JobContext, arm: Arm) -> tuple[dict[str, float], list[CaseScore]]:
    """``arm`` on the suite's held-out, drift and regression parts, cut as for checkpoints."""
    t = ctx.recipe.training
    return evaluate_model(
        arm.model,
        arm.tokenizer,
        ctx.suite,
        arm.fmt,
        limit=t.eval_limit,
        drift_limit=t.drift_limit,
        generator=arm.generator,
    )


def score_both(ctx: JobContext, cand: Arm, base: Arm, step: int = 0) -> tuple[SuiteScores, SuiteScores]:
    """Score both arms; log the baseline at step 0 (as a trained run does) and the candidate at ``step``.

    In a user's own run (``ctx.in_script``) the callback has logged step 0 already.
    """
    base_metrics, base_cases = score_arm(ctx, base)
    if not ctx.in_script:
        ctx.tracker.log_metrics(base_metrics, step=0)
    record_values(ctx, {f"baseline/{k}": v for k, v in base_metrics.items()})
    cand_metrics, cand_cases = score_arm(ctx, cand)
    ctx.tracker.log_metrics({f"candidate/{k}": v for k, v in cand_metrics.items()}, step=step)
    baseline = write_scores(ctx, "baseline", base_metrics, base_cases)
    return baseline, write_scores(ctx, "candidate", cand_metrics, cand_cases)


def _in_process(ctx: JobContext, model: Any, tok: Any, fmt: PromptFormat) -> Arm:
    gen = make_generator(ctx.recipe.generation, model, tok, add_special_tokens=fmt.add_special_tokens)
    return Arm(gen, fmt, tok, model)


def _base(ctx: JobContext) -> tuple[str, Any, Any]:
    """The recipe's base model, loaded: (reference, model, tokenizer); records ``base_model_sha``."""
    bm = ctx.recipe.base_model
    ref = resolve_base(bm, ctx.settings.cache_dir, progress=ctx.settings.progress)
    model, tok = load_model(ref, device=bm.device, dtype=bm.dtype, quantization=bm.quantization)
    ctx.add_lineage(base_model_sha=lineage.sha256_state_dict(model.state_dict()))
    return ref, model, tok


def _format(ctx: JobContext, tok: Any, template: str, system: str | None) -> PromptFormat:
    return format_for(tok, template, chat=ctx.recipe.chat_mode(), system=system)


def _recipe_file(ctx: JobContext, ref: str) -> Path:
    base = ctx.recipe.source_path.parent if ctx.recipe.source_path else Path.cwd()
    path = Path(ref)
    return path if path.is_absolute() else base / path


def _export(ctx: JobContext, model: Any, tok: Any, fmt: PromptFormat) -> None:
    out = ctx.stage_dir("export")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / PROMPT_TEMPLATE_FILE).write_text(fmt.template, encoding="utf-8")
    (out / FORMAT_FILE).write_text(fmt.to_json(), encoding="utf-8")


# -- kind: model ---------------------------------------------------------------------------


def load_model_candidate(ctx: JobContext, ref: str) -> tuple[Any, Any]:
    """A model folder, a PEFT adapter folder (merged into its base), ``runs:/ID/path`` or a hub id."""
    if ref.startswith("runs:/"):
        import mlflow

        ref = mlflow.artifacts.download_artifacts(artifact_uri=ref, dst_path=str(ctx.stage_dir("candidate")))
    folder = _recipe_file(ctx, ref)
    if (folder / "adapter_config.json").is_file():
        return _merge_adapter(ctx, folder)
    if folder.is_dir() and not (folder / "config.json").is_file():
        raise RecipeError(
            f"candidate.path {ref!r}: folder {folder} has neither config.json (a model) nor "
            "adapter_config.json (a PEFT adapter)"
        )
    bm = ctx.recipe.base_model
    return load_model(str(folder) if folder.is_dir() else ref, device=bm.device, dtype=bm.dtype)


def _merge_adapter(ctx: JobContext, folder: Path) -> tuple[Any, Any]:
    """Load the adapter's base (its recorded base when present here, else the recipe's) and merge."""
    from peft import PeftModel

    from ftlineage.models import load_tokenizer

    recorded = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8")).get(
        "base_model_name_or_path"
    )
    bm = ctx.recipe.base_model
    base_ref = recorded if recorded and Path(recorded).is_dir() else resolve_base(bm, ctx.settings.cache_dir)
    base, tok = load_model(base_ref, device=bm.device, dtype=bm.dtype)
    merged = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
    if (folder / "tokenizer_config.json").is_file():
        tok = load_tokenizer(str(folder))
    return merged, tok


def model_candidate(ctx: JobContext, step: int = 0) -> Trained:
    """``kind: model``: the recipe's base and the given model, scored in process like a checkpoint."""
    base_ref, base_model, base_tok = _base(ctx)
    model, tok = load_model_candidate(ctx, str(ctx.recipe.candidate.path))
    fmt = _format(ctx, tok, ctx.recipe.prompt_template, ctx.recipe.system_prompt)
    ctx.add_lineage(prompt_sha=fmt.sha(), model_sha=lineage.sha256_state_dict(model.state_dict()))
    _export(ctx, model, tok, fmt)
    baseline, candidate = score_both(
        ctx, _in_process(ctx, model, tok, fmt), _in_process(ctx, base_model, base_tok, fmt), step
    )
    return Trained(base_ref, model, tok, baseline, candidate, step, prompt_format=fmt)


# -- kind: endpoint ------------------------------------------------------------------------


def _endpoint_arm(
    ctx: JobContext, spec: EndpointSpec, template: str, system: str | None, role: str
) -> tuple[Arm, str]:
    """An endpoint's arm and identity SHA; the identity (never the key) is tagged on the run."""
    ident = identify(spec)
    tags = {f"{T.ENDPOINT_URL}.{role}": ident.url, f"{T.ENDPOINT_MODEL}.{role}": ident.model}
    if ident.shutdown_date:
        tags[f"{T.SHUTDOWN_DATE}.{role}"] = ident.shutdown_date
    ctx.tracker.set_tags(tags)
    return Arm(generator(spec, system), PromptFormat(template=template, system=system)), ident.sha


def _baseline_arm(
    ctx: JobContext, spec: BaselineSpec | None, template: str, system: str | None
) -> tuple[Arm, str]:
    """The baseline side: another endpoint, a model in process, or (default) the recipe's base."""
    endpoint = spec.endpoint() if spec else None
    if endpoint is not None:
        arm, sha = _endpoint_arm(ctx, endpoint, template, system, "baseline")
        ctx.add_lineage(base_model_sha=sha)
        return arm, f"endpoint:{endpoint.model}"
    if spec is not None and spec.path:
        model, tok = load_model_candidate(ctx, spec.path)
        ctx.add_lineage(base_model_sha=lineage.sha256_state_dict(model.state_dict()))
        return _in_process(ctx, model, tok, _format(ctx, tok, template, system)), spec.path
    ref, model, tok = _base(ctx)
    return _in_process(ctx, model, tok, _format(ctx, tok, template, system)), ref


def endpoint_candidate(ctx: JobContext) -> Trained:
    """``kind: endpoint``: the served model and its baseline, both asked through their own arms."""
    r = ctx.recipe
    spec = r.candidate.endpoint()
    assert spec is not None  # the recipe validator requires base_url and model
    cand, model_sha = _endpoint_arm(ctx, spec, r.prompt_template, r.system_prompt, "candidate")
    ctx.add_lineage(prompt_sha=cand.fmt.sha(), model_sha=model_sha)
    base, base_ref = _baseline_arm(ctx, r.candidate.baseline, r.prompt_template, r.system_prompt)
    out = ctx.stage_dir("export")
    public = {
        "base_url": spec.base_url,
        "model": spec.model,
        "api_key_env": spec.api_key_env,
        "api": spec.api,
    }
    (out / ENDPOINT_FILE).write_text(
        json.dumps({**public, "system": r.system_prompt}, indent=1), encoding="utf-8"
    )
    (out / FORMAT_FILE).write_text(cand.fmt.to_json(), encoding="utf-8")
    baseline, candidate = score_both(ctx, cand, base)
    return Trained(base_ref, None, None, baseline, candidate, 0, prompt_format=cand.fmt, arms=(cand, base))


# -- kind: prompt --------------------------------------------------------------------------


def prompt_candidate(ctx: JobContext, new: PromptText, old: PromptText) -> Trained:
    """``kind: prompt``: the same model asked with the new prompt and with the current one."""
    r = ctx.recipe
    spec = r.candidate.endpoint()
    if spec is not None:
        cand, ident = _endpoint_arm(ctx, spec, new.template, new.system, "candidate")
        base = Arm(generator(spec, old.system), PromptFormat(template=old.template, system=old.system))
        base_ref = f"endpoint:{spec.model}"
    else:
        base_ref, model, tok = _base(ctx)
        ident = ctx.lineage.base_model_sha
        cand = _in_process(ctx, model, tok, _format(ctx, tok, new.template, new.system))
        base = _in_process(ctx, model, tok, _format(ctx, tok, old.template, old.system))
    prompt_sha = cand.fmt.sha()
    model_sha = lineage.sha256_json({"prompt_sha": prompt_sha, "model": ident}, domain="prompt-candidate")
    ctx.add_lineage(prompt_sha=prompt_sha, model_sha=model_sha, base_model_sha=ident)
    ctx.tracker.set_tags({T.PROMPT_SOURCE: new.source, T.PROMPT_BASELINE: old.source})
    ctx.write("prompt", "prompt.json", prompt_source(new))
    baseline, candidate = score_both(ctx, cand, base)
    return Trained(
        base_ref,
        cand.model,
        cand.tokenizer,
        baseline,
        candidate,
        0,
        prompt_format=cand.fmt,
        arms=(cand, base),
    )


def prompt_texts(recipe: Any, where: str) -> tuple[PromptText, PromptText]:
    """The candidate prompt, and what it is compared with: the registry's ``@champion``, else the recipe's."""
    from ftlineage.candidates import is_registry_ref, parse_prompt, read_prompt_file, registry_ref
    from ftlineage.tracking import MlflowRegistry, PromptRegistry, load_registry_prompt

    ref = str(recipe.candidate.prompt)
    if is_registry_ref(ref):
        registry_ref(ref, where)
        try:
            value, _, pinned = load_registry_prompt(ref)
        except Exception as exc:  # noqa: BLE001 - MLflow raises MlflowException for any missing part
            raise RecipeError(f"{where} (candidate.prompt): {ref!r} could not be loaded: {exc}") from None
        new = parse_prompt(pinned, value, where)
    else:
        base = recipe.source_path.parent if recipe.source_path else Path.cwd()
        new = read_prompt_file(ref, base, where)
    name, champion = recipe.registry.model_name, recipe.registry.champion_alias
    prompts = PromptRegistry(MlflowRegistry.connect().client)
    if prompts.exists(name) and champion in prompts.aliases(name):
        value, _, pinned = load_registry_prompt(f"prompts:/{name}@{champion}")
        return new, parse_prompt(f"{pinned} (@{champion})", value, where)
    return new, PromptText(recipe.prompt_template, recipe.system_prompt, "recipe prompt_template")


def prompt_source(prompt: PromptText) -> str:
    """What a prompt version is registered from (``prompt/prompt.json``): its registry template."""
    from ftlineage.candidates import to_registry_template

    template = to_registry_template(prompt.template)
    if prompt.system is None:
        return json.dumps({"template": template, "source": prompt.source}, indent=1)
    turns = [{"content": prompt.system, "role": "system"}, {"content": template, "role": "user"}]
    return json.dumps({"template": turns, "source": prompt.source}, indent=1)


def check_candidate(recipe: Any, where: str) -> None:
    """Refuse a candidate that cannot be reached before anything is written to the store.

    A model folder must exist (a hub id or ``runs:/`` is checked when loaded); an endpoint must
    answer and serve the named model; a prompt must load and hold the ``{prompt}`` slot once.
    """
    c = recipe.candidate
    if c.kind == "model":
        path = str(c.path)
        base = recipe.source_path.parent if recipe.source_path else Path.cwd()
        local = Path(path) if Path(path).is_absolute() else base / path
        looks_local = path.startswith((".", "/", "~")) or local.exists()
        if looks_local and not local.is_dir():
            raise RecipeError(
                f"{where} (candidate.path): no model folder {local}; train it first or fix the path"
            )
    if c.kind == "prompt":
        prompt_texts(recipe, where)
    for key, spec in (
        ("candidate", c.endpoint()),
        ("candidate.baseline", c.baseline.endpoint() if c.baseline else None),
    ):
        if spec is None:
            continue
        try:
            identify(spec)
        except BadInputError as exc:  # nothing answers, or it does not serve the model
            raise RecipeError(f"{where} ({key}): {exc}") from None


def candidate_params(c: Any) -> dict[str, str]:
    """The candidate section as run params (URLs without credentials; a key's variable name only)."""
    from ftlineage.candidates import public_url

    params = {
        f"candidate.{k}": str(getattr(c, k)) for k in ("path", "model", "prompt", "api") if getattr(c, k)
    }
    if c.base_url:
        params["candidate.base_url"] = public_url(c.base_url)
    if c.kind in ("endpoint", "prompt") and c.base_url:
        params["candidate.api_key_env"] = str(c.api_key_env or "")
    return params if c.kind != "trained" else {}


def score_candidate(ctx: JobContext) -> Trained:
    """Stage 2 for a model, endpoint or prompt candidate."""
    kind = ctx.recipe.candidate.kind
    if kind == "model":
        return model_candidate(ctx)
    if kind == "endpoint":
        return endpoint_candidate(ctx)
    where = str(ctx.recipe.source_path or ctx.recipe.name)
    new, old = prompt_texts(ctx.recipe, where)
    return prompt_candidate(ctx, new, old)


def register_prompt(ctx: JobContext) -> str:
    """Register the passing prompt as a Prompt Registry version, signed, aliased ``@challenger``."""
    from ftlineage.gate.promotion import register_prompt_run
    from ftlineage.tracking import PromptRegistry, primary_mlflow

    mlflow_tracker = primary_mlflow(ctx.tracker)
    if mlflow_tracker is None:
        raise RecipeError("a prompt candidate registers in the MLflow Prompt Registry; track to MLflow")
    reg = ctx.recipe.registry
    return register_prompt_run(
        PromptRegistry(mlflow_tracker.client),
        ctx.tracker.run_id,
        name=reg.model_name,
        alias=reg.alias,
        key=ctx.settings.gate_key,
    )
