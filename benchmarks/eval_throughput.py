"""Evaluation throughput of the ``hf`` generation backend: generated tokens/s and cases/s by batch size.

    python benchmarks/eval_throughput.py [--model builtin|smollm2|both] [--cases 48] [--batches 1,8,32]

Scores the healthcare_v17 held-out cases (the job's per-checkpoint work) with greedy, length-sorted
batched generation at each batch size, through the model's prompt format (the tiny base's text
template; SmolLM2's chat template). Batch 1 is the peer each ratio is taken against, in the same
process. Prints the machine it ran on: float results and speeds differ between CPUs.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("FTLINEAGE_PROGRESS", "0")

RECIPES = {"builtin": "recipes/healthcare_v17.yaml", "smollm2": "recipes/healthcare_v17_smollm2.yaml"}


def _machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} visible cores, torch threads {torch.get_num_threads()}, {gpu}"


def _load(which: str):
    from ftlineage.models import format_for, load_model, resolve_base
    from ftlineage.recipe import load_recipe
    from ftlineage.settings import Settings

    recipe = load_recipe(RECIPES[which])  # the model and the prompt format its recipe scores with
    model, tok = load_model(resolve_base(recipe.base_model, Settings.from_env().cache_dir))
    return model, tok, format_for(tok, recipe.prompt_template, chat=recipe.chat_mode())


def _run(which: str, n_cases: int, batches: list[int]) -> None:
    from ftlineage import suites
    from ftlineage.models import generate

    model, tok, fmt = _load(which)
    cases = list(suites.load("healthcare_v17").heldout)[:n_cases]
    prompts = fmt.render_all(tok, [c.input_text for c in cases])
    max_new = suites.load("healthcare_v17").max_new_tokens("heldout")
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"\n{which}: {params:.1f}M parameters, {'chat template' if fmt.chat else 'text template'}, "
        f"{len(prompts)} held-out cases, max_new_tokens {max_new}"
    )
    generate(model, tok, prompts[:2], max_new_tokens=4, add_special_tokens=fmt.add_special_tokens)  # warm up
    peer = None
    for size in batches:
        start = time.perf_counter()
        outs, _ = generate(
            model,
            tok,
            prompts,
            max_new_tokens=max_new,
            batch_size=size,
            add_special_tokens=fmt.add_special_tokens,
        )
        wall = time.perf_counter() - start
        tokens = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in outs)
        rate = tokens / wall
        peer = peer or rate
        print(
            f"  batch {size:3d}: {tokens / wall:7.1f} generated tokens/s, {len(outs) / wall:6.2f} cases/s, "
            f"{wall:6.1f} s; {rate / peer:4.1f}x batch {batches[0]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["builtin", "smollm2", "both"], default="both")
    parser.add_argument("--cases", type=int, default=48)
    parser.add_argument("--batches", default="1,8,32")
    args = parser.parse_args()
    print("machine:", _machine())
    batches = [int(b) for b in args.batches.split(",")]
    for which in ("builtin", "smollm2") if args.model == "both" else (args.model,):
        _run(which, args.cases, batches)


if __name__ == "__main__":
    main()
