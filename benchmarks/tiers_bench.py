"""Per tier: quantize time, size on disk, ms per case, fidelity — and each against full precision.

    python benchmarks/tiers_bench.py [--recipe recipes/healthcare_v17.yaml] [--model FOLDER]
                                     [--tiers int8,int4,int2] [--cases 24] [--device auto]

The model is the recipe's base (the demo's tiny Llama by default; ``smollm2-135m-instruct`` with
the SmolLM2 recipe) or ``--model`` (e.g. a job's ``export/`` folder). Full precision and every
tier answer the same held-out prompts of the recipe's suite greedily in this process, so the
ratios compare like with like on whatever machine this runs (say which when quoting them).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from ftlineage import suites
from ftlineage.models import format_for, generate, load_model, resolve_base, resolve_device
from ftlineage.recipe import load_recipe
from ftlineage.settings import Settings
from ftlineage.tiers import TierSpec, fidelity, produce_tier, tier_list, weights_size
from ftlineage.training import case_source


def ms_per_case(model, tok, prompts, max_new, specials) -> tuple[float, list[str]]:
    generate(model, tok, prompts[:2], max_new_tokens=4, add_special_tokens=specials)  # warm-up
    start = time.perf_counter()
    out, _ = generate(model, tok, prompts, max_new_tokens=max_new, add_special_tokens=specials)
    return (time.perf_counter() - start) * 1000 / len(prompts), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="recipes/healthcare_v17.yaml")
    ap.add_argument("--model", default=None, help="a saved model folder (default: the recipe's base)")
    ap.add_argument("--tiers", default="int8,int4,int2")
    ap.add_argument("--cases", type=int, default=24)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe)
    folder = args.model or resolve_base(recipe.base_model, Settings.from_env().cache_dir)
    device = resolve_device(args.device)
    model, tok = load_model(str(folder), device=device)
    fmt = format_for(tok, recipe.prompt_template, chat=recipe.chat_mode(), system=recipe.system_prompt)
    suite = suites.load(recipe.suite)
    held = list(suite.heldout)[: args.cases]
    prompts = fmt.render_all(tok, [case_source(c) for c in held])
    max_new = suite.max_new_tokens("heldout")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "full"
        model.save_pretrained(source)
        tok.save_pretrained(source)
        full_size = weights_size(source)
        full_ms, answers = ms_per_case(model, tok, prompts, max_new, fmt.add_special_tokens)
        texts = list(zip(prompts, answers, strict=True))
        print(
            f"model {folder} on {device}, {len(prompts)} held-out cases, {max_new} new tokens max, "
            f"{args.threads} threads"
        )
        print(
            f"{'tier':<14}{'quantize s':>11}{'size MB':>10}{'x size':>8}{'ms/case':>10}{'x ms':>7}"
            f"{'KL nats':>10}{'top-1':>7}"
        )
        print(
            f"{'full':<14}{'-':>11}{full_size / 1e6:>10.2f}{1:>8.2f}{full_ms:>10.1f}{1:>7.2f}{0:>10.4f}{1:>7.3f}"
        )
        for name in tier_list(args.tiers):
            spec = TierSpec.model_validate(name)
            out = Path(tmp) / spec.name
            tier, _, seconds = produce_tier(spec, source, out, device=device)
            size = weights_size(out)
            ms, _ = ms_per_case(tier, tok, prompts, max_new, fmt.add_special_tokens)
            fid = fidelity(model, tier, tok, texts, add_special_tokens=fmt.add_special_tokens)
            print(
                f"{spec.name:<14}{seconds:>11.2f}{size / 1e6:>10.2f}{size / full_size:>8.2f}{ms:>10.1f}"
                f"{ms / full_ms:>7.2f}{fid.mean_kl:>10.4f}{fid.top1_agreement:>7.3f}"
            )
            del tier


if __name__ == "__main__":
    main()
