"""A task the tiny model can learn in seconds (city -> country), a model taught it, and recipes.

The taught model beats the tiny base on held-out exact match and in the arena, so each
candidate kind has a real pass and a real block to show; nothing here is scripted.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

PAIRS = [
    ("Oslo", "Norway"),
    ("Lima", "Peru"),
    ("Quito", "Ecuador"),
    ("Cairo", "Egypt"),
    ("Hanoi", "Vietnam"),
    ("Riga", "Latvia"),
    ("Turin", "Italy"),
    ("Dakar", "Senegal"),
]
TEMPLATE = "Q: {prompt}\nCountry:"

RECIPE = """\
name: cities
suite: {suite}
seed: 3
base_model:
  name: builtin:tiny-llama
  family: llama
  builtin: {{hidden_size: 48, layers: 2, heads: 2, intermediate_size: 96, vocab_size: 400,
            pretrain_steps: 20, batch_size: 8, corpus_rows: 300, seed: 1}}
prompt_template: "{template}"
training: {{eval_limit: 16, drift_limit: 4}}
arena: {{limit: 16}}
audit: {{semantic: false}}
gate:
  metrics: [{{name: heldout/exact_match, direction: higher}}]
registry: {{model_name: cities}}
"""


LEADS = ("Where is", "Which country has", "Country of", "Tell me the country for")


def rows(n: int, seed: int, prefix: str) -> list[dict[str, str]]:
    """Distinct questions (lead, city, ticket number), so the audit finds no duplicates or leaks."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        city, country = rng.choice(PAIRS)
        lead = rng.choice(LEADS)
        out.append(
            {"id": f"{prefix}{i}", "prompt": f"{lead} {city}? (ticket {seed}-{i})", "reference": country}
        )
    return out


@pytest.fixture(scope="session")
def cities(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Any:
    """``(suite dir, taught model dir, tiny base dir, training file)`` for the city task."""
    from types import SimpleNamespace

    from ftlineage.cli import main
    from ftlineage.models import PromptFormat, load_model, resolve_base
    from ftlineage.recipe import BaseModelSpec, TrainingSpec
    from ftlineage.training import build_trainer, tokenize_rows
    from tests.conftest import TINY

    tmp = tmp_path_factory.mktemp("cities")
    held = tmp / "heldout.jsonl"
    held.write_text("".join(json.dumps(r) + "\n" for r in rows(16, 1, "h")))
    train = [
        {"id": r["id"], "prompt": r["prompt"], "completion": " " + r["reference"]} for r in rows(96, 2, "t")
    ]
    corpus = tmp / "train.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in train))
    assert (
        main(
            [
                "suite",
                "new",
                str(tmp / "suite"),
                "--name",
                "cities_v1",
                "--heldout",
                str(held),
                "--scorer",
                "exact_match",
            ]
        )
        == 0
    )
    base = resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), model_cache, progress=False)
    model, tok = load_model(base)
    examples = tokenize_rows(train, tok, PromptFormat(TEMPLATE), 64)
    spec = TrainingSpec(
        method="full", max_steps=240, save_steps=10_000, batch_size=8, learning_rate=5e-3, warmup_steps=5
    )
    build_trainer(
        model, tok, examples, spec, output_dir=tmp / "ckpt", seed=0, callbacks=[], progress=False
    ).train()
    model.save_pretrained(tmp / "taught")
    tok.save_pretrained(tmp / "taught")
    return SimpleNamespace(suite=tmp / "suite", taught=tmp / "taught", base=Path(base), corpus=corpus)


def write_recipe(
    folder: Path,
    cities: Any,
    extra: str = "",
    *,
    corpus: bool = False,
    base: Path | None = None,
    template: str = TEMPLATE,
) -> Path:
    """A recipe for the city task in ``folder`` with ``extra`` YAML appended.

    ``base`` replaces the tiny base model (e.g. with the taught model, for prompt changes).
    """
    text = RECIPE.format(suite=cities.suite, template=template.replace("\n", "\\n"))
    if base is not None:
        start, end = text.index("base_model:\n"), text.index("prompt_template:")
        text = text[:start] + f"base_model: {{name: '{base}', family: llama}}\n" + text[end:]
    if corpus:
        text += f"corpus: [{cities.corpus}]\n"
    path = folder / "recipe.yaml"
    path.write_text(text + extra)
    return path
