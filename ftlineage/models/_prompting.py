"""How a model is prompted: a text template for base models, the chat template for instruct models.

One :class:`PromptFormat` renders every prompt a model sees — training rows, held-out and drift
cases, arena inputs, canary requests, CI-gate items, the exported pyfunc — so a model is always
asked the way it was tuned. With a chat template, the recipe's ``prompt_template`` wraps the user
turn (``"{prompt}"`` leaves it bare) and a case's ``messages`` reach the model as real turns.
The whole format, chat template text included, is what ``prompt_sha`` digests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ftlineage.errors import BadInputError
from ftlineage.readers import flatten_turns

Turns = list[dict[str, str]]
Source = str | Sequence[Any]
"""A prompt: plain text, or turns (``{"role", "content"}`` mappings or objects with those attributes)."""

PROMPT_TEMPLATE_FILE = "ftlineage_prompt_template.txt"
"""Written beside an exported model: its text template alone (what older readers look for)."""

FORMAT_FILE = "ftlineage_prompt_format.json"
"""Written beside an exported model: the prompt format it was fine-tuned with."""


class PromptFormatError(BadInputError):
    """A chat template that cannot render a conversation the way training needs."""


def turns_of(source: Source) -> Turns:
    """``source`` as a list of ``{"role", "content"}`` dicts (plain text is one user turn)."""
    if isinstance(source, str):
        return [{"role": "user", "content": source}]
    out = []
    turn: Any
    for turn in source:
        if isinstance(turn, Mapping):
            out.append({"role": str(turn["role"]), "content": str(turn["content"])})
        else:
            out.append({"role": str(turn.role), "content": str(turn.content)})
    return out


def flatten(turns: Turns) -> str:
    """Turns as ``Role: content`` lines: how a model without a chat template sees a conversation."""
    return flatten_turns(turns)


@dataclass(frozen=True)
class PromptFormat:
    """The text template around a prompt and, for chat models, the chat template and system turn."""

    template: str = "{prompt}"
    chat_template: str | None = None
    system: str | None = None

    @property
    def chat(self) -> bool:
        """Whether prompts go through ``apply_chat_template``."""
        return self.chat_template is not None

    @property
    def add_special_tokens(self) -> bool:
        """Whether the tokenizer adds BOS/EOS itself (a chat template writes its own)."""
        return not self.chat

    def with_template(self, template: str) -> PromptFormat:
        """The same format with another text template (a suite part's own)."""
        return replace(self, template=template)

    def wrap(self, text: str) -> str:
        """Fill the text template."""
        return self.template.replace("{prompt}", text)

    def turns(self, source: Source) -> Turns:
        """The conversation a chat model is given: system turn, then the wrapped prompt or the turns."""
        turns = (
            [{"role": "user", "content": self.wrap(source)}] if isinstance(source, str) else turns_of(source)
        )
        if self.system and (not turns or turns[0]["role"] != "system"):
            turns = [{"role": "system", "content": self.system}, *turns]
        return turns

    def render(self, tokenizer: Any, source: Source) -> str:
        """The exact text to tokenize for generation (ends where the model's answer starts)."""
        if not self.chat:
            return self.wrap(source if isinstance(source, str) else flatten(turns_of(source)))
        return self._apply(tokenizer, self.turns(source), generation=True)

    def render_all(self, tokenizer: Any, sources: Sequence[Source]) -> list[str]:
        """:meth:`render` over many prompts."""
        return [self.render(tokenizer, s) for s in sources]

    def _apply(self, tokenizer: Any, turns: Turns, *, generation: bool) -> str:
        if not turns:
            return ""
        text = tokenizer.apply_chat_template(
            turns, chat_template=self.chat_template, tokenize=False, add_generation_prompt=generation
        )
        return str(text)

    def encode(
        self, tokenizer: Any, source: Source, completion: str | None, max_len: int
    ) -> dict[str, list[int]]:
        """Token ids and labels for one training example; only the answer's tokens carry a label.

        ``source`` is a prompt (``completion`` is its answer) or a conversation whose assistant
        turns are the answers (``completion`` is ``None``).
        """
        if not self.chat:
            return self._encode_text(tokenizer, source, completion, max_len)
        turns = self.turns(source)
        if completion is not None:
            turns.append({"role": "assistant", "content": completion})
        full = self._apply(tokenizer, turns, generation=False)
        spans = []
        for i, turn in enumerate(turns):
            if turn["role"] != "assistant":
                continue
            before = self._apply(tokenizer, turns[:i], generation=True)
            upto = self._apply(tokenizer, turns[: i + 1], generation=False)
            if not (full.startswith(upto) and upto.startswith(before)):
                raise PromptFormatError(
                    "the chat template does not render a conversation as a prefix of its longer "
                    f"version (turn {i}), so assistant tokens cannot be found; use a template whose "
                    "earlier turns render unchanged"
                )
            spans.append((len(before), len(upto)))
        ids, labels = _labelled(tokenizer, full, spans)
        return {"input_ids": ids[:max_len], "labels": labels[:max_len]}

    def _encode_text(
        self, tokenizer: Any, source: Source, completion: str | None, max_len: int
    ) -> dict[str, list[int]]:
        if completion is None:  # a conversation: the last assistant turn is the answer
            turns = turns_of(source)
            if not turns or turns[-1]["role"] != "assistant":
                raise PromptFormatError("a training conversation must end with an assistant turn")
            source, completion = flatten(turns[:-1]), turns[-1]["content"]
        prompt_ids = tokenizer(self.render(tokenizer, source))["input_ids"]
        target_ids = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = (prompt_ids + target_ids)[:max_len]
        labels = ([-100] * len(prompt_ids) + target_ids)[:max_len]
        return {"input_ids": ids, "labels": labels}

    def to_json(self) -> str:
        """Canonical JSON (the sidecar written beside an exported model)."""
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PromptFormat:
        """Read :meth:`to_json` back."""
        data = json.loads(text)
        return cls(**{k: data.get(k) for k in ("chat_template", "system")}, template=data["template"])

    def sha(self) -> str:
        """``prompt_sha``: a text-only format digests as its template did before chat support."""
        from ftlineage.lineage import sha256_json, sha256_prompt

        if not self.chat and self.system is None:
            return sha256_prompt(self.template)
        return sha256_json(asdict(self), domain="prompt")


def _labelled(tokenizer: Any, text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Token ids of ``text`` (no added specials) and labels: the id inside a span, else -100."""
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        starts = [int(a) for a, _ in enc["offset_mapping"]]
        return ids, [
            t if any(a <= s < b for a, b in spans) else -100 for t, s in zip(ids, starts, strict=True)
        ]

    def count(prefix: str) -> int:  # a slow tokenizer: spans by token counts of the prefixes
        return len(tokenizer(prefix, add_special_tokens=False)["input_ids"])

    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    labels = [-100] * len(ids)
    for a, b in spans:
        lo, hi = count(text[:a]), count(text[:b])
        labels[lo:hi] = ids[lo:hi]
    return ids, labels


def format_for(
    tokenizer: Any, template: str, *, chat: bool | None, system: str | None = None
) -> PromptFormat:
    """The format a recipe asks for.

    Chat when the tokenizer has a chat template (``chat: auto``) or when ``chat: true`` (which
    needs one); the text template alone otherwise.
    """
    own = getattr(tokenizer, "chat_template", None)
    if chat is False or (chat is None and not own):
        return PromptFormat(template=template, system=system)
    if not own:
        raise PromptFormatError(
            "the recipe says chat: true but the model's tokenizer has no chat template; set chat: auto "
            "or false, or use an instruct model"
        )
    return PromptFormat(template=template, chat_template=str(own), system=system)


def read_format(folder: Path) -> PromptFormat | None:
    """The prompt format saved beside an exported model (or its older text-template sidecar)."""
    path = folder / FORMAT_FILE
    if path.is_file():
        return PromptFormat.from_json(path.read_text(encoding="utf-8"))
    legacy = folder / PROMPT_TEMPLATE_FILE
    return PromptFormat(template=legacy.read_text(encoding="utf-8")) if legacy.is_file() else None
