"""The offline base model: a tiny Llama plus a BPE tokenizer, both trained here.

Built from :class:`~ftlineage.recipe.BuiltinSpec`, pretrained on generated text from
the five general families and a task's pretraining cases (the demo task's calls summarized
in another schema, reached through the task contract, never the held-out task itself), and
cached under ``<cache>/base/<key>``; the key covers the spec, the SHA-256 of the generated
corpus and the trainer version, so any change rebuilds it.
"""

from __future__ import annotations

import math
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ftlineage.data import _general
from ftlineage.lineage import sha256_json, sha256_rows
from ftlineage.recipe import BuiltinSpec
from ftlineage.tasks import pretraining_cases

TRAINER_VERSION = 1  # bump when train_tokenizer / build_config / pretrain change
TEMPLATE = _general.GENERAL_TEMPLATE
SPECIALS = ("<pad>", "<eos>", "<unk>")
_PRETRAIN_SEED_OFFSET = 90_000
GROUNDING_TASK = "healthcare_postcall"  # whose pretraining_case fills the grounding share


def spec_key(spec: BuiltinSpec, texts: list[str] | None = None) -> str:
    """Cache key of a builtin base model.

    Covers the spec, the SHA-256 of the exact pretraining corpus (so any change to a data
    generator rebuilds the model) and the version of the tokenizer/pretraining code.
    """
    corpus = sha256_rows([{"t": t} for t in (texts if texts is not None else pretraining_texts(spec))])
    return sha256_json(
        {"spec": spec.model_dump(), "corpus": corpus, "trainer": TRAINER_VERSION}, domain="base"
    )


def pretraining_texts(spec: BuiltinSpec) -> list[str]:
    """Generated texts the base model is pretrained on, shuffled with the spec's seed.

    Mix: 25% the five general families, 60% :data:`GROUNDING_TASK`'s pretraining cases (call
    summaries in a schema other than the held-out task's), 10% verbatim copying, 5%
    sentence-to-JSON extraction. Grounded copying is what a 2M-parameter model learns
    slowest, hence the weight (a 50/30 mix learned the task worse and forgot multi-turn
    skills: the gate blocked it).
    """
    n = spec.corpus_rows
    n_summary, n_copy, n_extract = int(n * 0.60), int(n * 0.10), int(n * 0.05)
    per_family = max(1, (n - n_summary - n_copy - n_extract) // len(_general.FAMILIES))
    cases = _general.make_cases(spec.seed + _PRETRAIN_SEED_OFFSET, per_family, prefix="pre")
    rng = random.Random(spec.seed + _PRETRAIN_SEED_OFFSET)
    cases += pretraining_cases(GROUNDING_TASK, rng, n_summary)
    cases += [_general.PRETRAIN_ONLY["copy"](rng) for _ in range(n_copy)]
    cases += [_general.PRETRAIN_ONLY["extract_json"](rng) for _ in range(n_extract)]
    texts = [TEMPLATE.format(prompt=c["prompt"]) + c["reference"] for c in cases]
    random.Random(spec.seed).shuffle(texts)
    return texts


def train_tokenizer(texts: list[str], vocab_size: int) -> Any:
    """Train a byte-level BPE tokenizer and wrap it as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )


def build_config(spec: BuiltinSpec, tokenizer: Any) -> Any:
    """A Llama config sized by ``spec``."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.heads,
        max_position_embeddings=spec.max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )


def _batches(ids: list[list[int]], spec: BuiltinSpec, rng: random.Random) -> Any:
    """Endless stream of shuffled batches; examples of similar length share a batch."""
    import torch

    order = list(range(len(ids)))
    window = spec.batch_size * 16
    while True:
        rng.shuffle(order)
        batches = []
        for lo in range(0, len(order), window):
            chunk = sorted(order[lo : lo + window], key=lambda i: len(ids[i]))
            batches += [chunk[b : b + spec.batch_size] for b in range(0, len(chunk), spec.batch_size)]
        rng.shuffle(batches)
        for batch in batches:
            seqs = [ids[i][: spec.seq_len] for i in batch]
            x = torch.full((len(seqs), max(len(s) for s in seqs)), -100, dtype=torch.long)
            for row, seq in enumerate(seqs):
                x[row, : len(seq)] = torch.tensor(seq)
            yield x


def _lr_lambda(total: int) -> Any:
    warm = max(1, total // 20)

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        done = (step - warm) / max(1, total - warm)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done))

    return lr_at


def pretrain(model: Any, tokenizer: Any, texts: list[str], spec: BuiltinSpec, progress: bool) -> None:
    """Plain causal-LM pretraining loop: AdamW, warmup then cosine decay, seeded."""
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(spec.seed)
    ids = [tokenizer(t)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
    stream = _batches(ids, spec, random.Random(spec.seed))
    opt = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(spec.pretrain_steps))
    model.train()
    bar = tqdm(range(spec.pretrain_steps), desc="pretrain base model", disable=not progress)
    for _ in bar:
        labels = next(stream)
        inputs = labels.masked_fill(labels < 0, tokenizer.pad_token_id)
        out = model(input_ids=inputs, attention_mask=(labels >= 0).long(), labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        bar.set_postfix(loss=f"{out.loss.item():.3f}", refresh=False)
    model.eval()


def build_base(spec: BuiltinSpec, cache_dir: Path, *, progress: bool = True) -> Path:
    """Return the cached base model directory for ``spec``, building it when missing."""
    import torch
    from transformers import LlamaForCausalLM

    texts = pretraining_texts(spec)
    target = cache_dir / "base" / spec_key(spec, texts)
    if (target / "READY").is_file():
        return target
    tokenizer = train_tokenizer(texts, spec.vocab_size)
    torch.manual_seed(spec.seed)
    model = LlamaForCausalLM(build_config(spec, tokenizer))
    pretrain(model, tokenizer, texts, spec, progress)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".building-"))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "READY").write_text(spec.model_dump_json(indent=2))
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target
