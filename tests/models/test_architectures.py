"""The job on an architecture that is not Llama: GPT-2 (Conv1D layers named c_attn/c_proj/c_fc)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftlineage.models import load_model, resolve_base
from ftlineage.recipe import BaseModelSpec
from tests.conftest import ROOT, TINY, TINY_RECIPE

pytestmark = pytest.mark.integration


def _tiny_gpt2(model_cache: Path, out: Path) -> Path:
    """A 2-layer GPT-2 built from config, with the builtin tiny tokenizer."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    _, tok = load_model(resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), model_cache))
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=512,
        n_embd=48,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_the_job_runs_on_gpt2_with_all_linear_lora(tmp_path: Path, model_cache: Path, monkeypatch) -> None:
    from mlflow.tracking import MlflowClient

    from ftlineage.pipeline import run_job

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(tmp_path / "work"))
    model = _tiny_gpt2(model_cache, tmp_path / "gpt2")
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp_path / "corpus.jsonl").write_text("".join(src[:120]))
    text = TINY_RECIPE.format(corpus=tmp_path / "corpus.jsonl")
    text = text.replace("name: builtin:tiny-llama", f"name: {model}").replace("  family: llama\n", "")
    (tmp_path / "gpt2.yaml").write_text(text)
    result = run_job(str(tmp_path / "gpt2.yaml"), None)
    assert result.decision in ("pass", "blocked"), result.reasons
    client = MlflowClient(uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["ftlineage.base_model_sha"]
    adapter = Path(
        client.download_artifacts(result.run_id, "adapters/best/adapter_config.json", str(tmp_path))
    )
    targets = {t.rsplit(".", 1)[-1] for t in json.loads(adapter.read_text())["target_modules"]}
    assert {"c_attn", "c_fc"} <= targets
    assert "lm_head" not in targets
