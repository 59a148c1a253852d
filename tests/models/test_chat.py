"""Chat templates end to end: a tiny model whose tokenizer has one, trained on ``messages`` rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ftlineage import suites
from ftlineage.lineage import sha256_prompt
from ftlineage.models import PromptFormat, PromptFormatError, format_for, load_model, resolve_base
from ftlineage.recipe import BaseModelSpec
from ftlineage.training import evaluate_model, tokenize_rows
from tests.conftest import ROOT, TINY, TINY_RECIPE

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_chat_model(src: Path, out: Path, template: str = CHATML) -> Path:
    """The builtin tiny base with ChatML markers and a chat template, saved to ``out``."""
    import torch

    torch.manual_seed(0)
    model, tok = load_model(str(src))
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    model.resize_token_embeddings(len(tok))
    tok.chat_template = template
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def chat_base(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    src = resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), model_cache)
    return make_chat_model(Path(src), tmp_path_factory.mktemp("chat") / "model")


def _runs(labels: list[int]) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of labelled positions."""
    runs, start = [], None
    for i, lab in enumerate([*labels, -100]):
        if lab != -100 and start is None:
            start = i
        elif lab == -100 and start is not None:
            runs.append((start, i))
            start = None
    return runs


def test_loss_mask_covers_only_the_assistant_turns(chat_base: Path) -> None:
    _, tok = load_model(str(chat_base))
    fmt = format_for(tok, "{prompt}", chat=None, system="Answer briefly.")
    assert fmt.chat
    assert not fmt.add_special_tokens
    turns = [
        {"role": "user", "content": "What is 2 plus 2?"},
        {"role": "assistant", "content": "It is 4."},
        {"role": "user", "content": "And 3 plus 3?"},
        {"role": "assistant", "content": "It is 6."},
    ]
    (ex,) = tokenize_rows([{"id": "a", "messages": turns}], tok, fmt, 512)
    ids, labels = ex["input_ids"], ex["labels"]
    assert all(lab in (-100, i) for i, lab in zip(ids, labels, strict=True))
    spans = [tok.decode(ids[a:b], skip_special_tokens=False) for a, b in _runs(labels)]
    assert [s.strip() for s in spans] == ["It is 4.<|im_end|>", "It is 6.<|im_end|>"]
    prompt_part = tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab == -100])
    assert "Answer briefly." in prompt_part
    assert "What is 2 plus 2?" in prompt_part
    assert "It is" not in prompt_part


def test_a_prompt_row_is_wrapped_as_the_user_turn_and_trains_on_its_completion(chat_base: Path) -> None:
    _, tok = load_model(str(chat_base))
    fmt = format_for(tok, "Extract: {prompt}", chat=True)
    (ex,) = tokenize_rows(
        [{"id": "a", "prompt": "Ann called.", "completion": '{"name": "Ann"}'}], tok, fmt, 512
    )
    (run,) = _runs(ex["labels"])
    assert tok.decode(ex["input_ids"][run[0] : run[1]], skip_special_tokens=False).strip() == (
        '{"name": "Ann"}<|im_end|>'
    )
    assert tok.decode(ex["input_ids"][: run[0]], skip_special_tokens=False).endswith(
        "<|im_start|>user\nExtract: Ann called.<|im_end|>\n<|im_start|>assistant\n"
    )


class Recorder:
    """A generator that records what it was asked and answers nothing."""

    name = "recorder"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def generate(self, prompts, *, max_new_tokens):  # type: ignore[no-untyped-def]
        self.prompts += list(prompts)
        return [""] * len(prompts), 0.0


def test_a_multi_turn_drift_case_reaches_the_model_as_turns(chat_base: Path) -> None:
    _, tok = load_model(str(chat_base))
    suite = suites.load("general_v1")
    case = next(c for c in suite.drift if c.messages is not None and len(c.messages) > 2)
    index = list(suite.drift).index(case)
    rec = Recorder()
    fmt = format_for(tok, "{prompt}", chat=None)
    evaluate_model(None, tok, suite, fmt, limit=index // 2 + 1, generator=rec)
    seen = rec.prompts[index]
    turns = [{"role": m.role, "content": m.content} for m in case.messages]
    assert seen == tok.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
    assert seen.count("<|im_start|>user\n") == sum(t["role"] == "user" for t in turns) > 1
    assert f"<|im_start|>assistant\n{turns[1]['content']}<|im_end|>" in seen
    # Without a chat template the same case is flattened into the drift part's text template.
    rec2 = Recorder()
    evaluate_model(None, tok, suite, PromptFormat(), limit=index // 2 + 1, generator=rec2)
    assert "<|im_start|>" not in rec2.prompts[index]
    assert f"Assistant: {turns[1]['content']}" in rec2.prompts[index]


def test_prompt_sha_covers_the_chat_template(chat_base: Path) -> None:
    _, tok = load_model(str(chat_base))
    a = format_for(tok, "{prompt}", chat=None)
    tok.chat_template = CHATML.replace(
        "<|im_start|>assistant\n{% endif %}", "<|im_start|>assistant\n\n{% endif %}"
    )
    b = format_for(tok, "{prompt}", chat=None)
    assert a.sha() != b.sha()
    assert a.sha() == PromptFormat.from_json(a.to_json()).sha()
    text_only = PromptFormat(template="Q: {prompt}\nA:")
    assert text_only.sha() == sha256_prompt("Q: {prompt}\nA:")  # base-model SHAs are unchanged
    tok.chat_template = None
    with pytest.raises(PromptFormatError, match="no chat template"):
        format_for(tok, "{prompt}", chat=True)


def _messages_corpus(path: Path, n: int) -> Path:
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines()[:n]
    with path.open("w") as fh:
        for i, line in enumerate(src):
            row = json.loads(line)
            turns = [
                {"role": "user", "content": row["prompt"]},
                {"role": "assistant", "content": row["completion"]},
            ]
            if i % 3 == 0:
                turns = [{"role": "system", "content": "You extract call facts."}, *turns]
            fh.write(json.dumps({"id": row["id"], "messages": turns}) + "\n")
    return path


@pytest.mark.integration
def test_the_job_trains_and_scores_a_chat_model_on_messages_rows(
    chat_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from ftlineage.compare import diff_runs
    from ftlineage.pipeline import run_job
    from ftlineage.tracking import snapshot

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(tmp_path / "work"))
    corpus = _messages_corpus(tmp_path / "chat.jsonl", 120)
    other = tmp_path / "other"
    shutil.copytree(chat_base, other)
    config = json.loads((other / "tokenizer_config.json").read_text())
    if "chat_template" in config:
        config["chat_template"] = config["chat_template"].replace(
            "{{ m['content'] }}", "{{ m['content'] | trim }}"
        )
        (other / "tokenizer_config.json").write_text(json.dumps(config))
    else:  # saved as its own file
        jinja = other / "chat_template.jinja"
        jinja.write_text(jinja.read_text().replace("{{ m['content'] }}", "{{ m['content'] | trim }}"))
    runs = []
    for model in (chat_base, other):
        text = TINY_RECIPE.format(corpus=corpus).replace("name: builtin:tiny-llama", f"name: {model}")
        recipe = tmp_path / f"{model.name}.yaml"
        recipe.write_text(text)
        result = run_job(str(recipe), None)
        assert result.decision in ("pass", "blocked"), result.reasons
        runs.append(result.run_id)
    client = MlflowClient(uri)
    first = client.get_run(runs[0])
    assert first.info.status == "FINISHED"
    assert int(float(first.data.params["data/train_rows"])) > 50
    _, tok = load_model(str(chat_base))
    expected = format_for(tok, "### Instruction:\nExtract as JSON.\n{prompt}\n### Response:\n", chat=None)
    assert first.data.tags["ftlineage.prompt_sha"] == expected.sha()
    d = diff_runs(snapshot(client, runs[0]), snapshot(client, runs[1]))
    assert list(d.changed_inputs) == ["prompt_sha"]
