"""A tiny base with real capabilities on the drift suite, so forgetting can be measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftlineage import suites
from ftlineage.recipe import BaseModelSpec, BuiltinSpec, TrainingSpec

TINY = BuiltinSpec(
    hidden_size=48,
    layers=2,
    heads=2,
    intermediate_size=96,
    vocab_size=400,
    pretrain_steps=20,
    batch_size=8,
    corpus_rows=300,
    seed=1,
)
DRIFT_CASES = 16


@pytest.fixture(scope="session")
def capable_base(tmp_path_factory, model_cache) -> Path:
    """The tiny base taught the first drift cases (drift score 1.0 on them), saved to a folder."""
    from ftlineage.models import load_model, resolve_base
    from ftlineage.training import build_trainer, tokenize_rows

    suite = suites.load("healthcare_v17")
    model, tok = load_model(resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), model_cache))
    rows = [{"prompt": c["prompt"], "completion": c["reference"]} for c in suite.drift[:DRIFT_CASES]]
    examples = tokenize_rows(rows, tok, suite.meta.drift_template, 160)
    spec = TrainingSpec(
        method="full", max_steps=150, save_steps=1000, batch_size=8, learning_rate=5e-3, warmup_steps=5
    )
    out = tmp_path_factory.mktemp("capable")
    build_trainer(
        model, tok, examples, spec, output_dir=out / "ckpt", seed=0, callbacks=[], progress=False
    ).train()
    model.save_pretrained(out / "model")
    tok.save_pretrained(out / "model")
    return out / "model"
