"""Judges backed by a language model: the pairwise rubric prompt, reply parsing, and factories."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ftlineage.arena._backends import Backend, HFChat, JudgeCallError, OpenAIChat
from ftlineage.arena._judge import Judgement, Pick

PROMPT_VERSION = "pairwise-v2"
RUBRIC = (
    "You compare two answers to the same request. Prefer the answer that does what the request "
    "asks, is correct and complete, and states nothing the request does not support. Ignore "
    "length and order of answers."
)
PROMPT = """{rubric}

Request:
{prompt}

Answer FIRST:
{first}

Answer SECOND:
{second}

Reply with exactly one line: "Verdict: FIRST", "Verdict: SECOND" or "Verdict: TIE"."""

_VERDICT = re.compile(r"verdict\s*[:=-]\s*\**\s*(first|second|tie)\b", re.I)
_WORD = re.compile(r"\b(first|second|tie)\b", re.I)


def parse_pick(reply: str) -> Pick | None:
    """The pick in a judge's reply; ``None`` when it names none or several without a verdict line."""
    m = _VERDICT.search(reply)
    words = {m.group(1).lower()} if m else {w.lower() for w in _WORD.findall(reply)}
    if len(words) != 1:
        return None
    return _PICKS[words.pop()]


_PICKS: dict[str, Pick] = {"first": "first", "second": "second", "tie": "tie"}


@dataclass
class LLMJudge:
    """A judge that asks a backend model with the pairwise rubric prompt."""

    backend: Backend
    name: str
    rubric: str = RUBRIC

    @property
    def version(self) -> str:
        """Prompt version."""
        return PROMPT_VERSION

    @property
    def family(self) -> str:
        """The backend model's family."""
        return str(self.backend.family)

    @property
    def params(self) -> dict[str, Any]:
        """The backend's parameters plus the rubric text."""
        return {**self.backend.params, "rubric": self.rubric}

    def judge(self, prompt: str, first: str, second: str) -> Judgement:
        """Ask once; a failed call or an unparsable reply is unscored."""
        try:
            reply = self.backend.complete(
                PROMPT.format(rubric=self.rubric, prompt=prompt, first=first, second=second)
            )
        except JudgeCallError as exc:
            return Judgement("unscored", str(exc))
        pick = parse_pick(reply)
        return Judgement(pick or "unscored", reply.strip()[:200] or "(empty reply)")


def _rubric_text(suite: Any) -> str:
    spec = suite.specs.get("arena") if suite is not None else None
    return (spec.rubric if spec is not None else None) or RUBRIC


def OpenAIJudge(*, suite: Any = None, **options: Any) -> LLMJudge:  # noqa: N802 - a factory named like its judge
    """The ``openai`` judge: :class:`OpenAIChat` options (``base_url``, ``model``, ``family``, ...).

    The comparison rubric is the suite's arena ``rubric`` text, else a generic one.
    """
    return LLMJudge(OpenAIChat(**options), name="openai", rubric=_rubric_text(suite))


def HFJudge(*, suite: Any = None, **options: Any) -> LLMJudge:  # noqa: N802
    """The ``hf`` judge: :class:`HFChat` options (``model``, ``family``, ``max_new_tokens``)."""
    return LLMJudge(HFChat(**options), name="hf", rubric=_rubric_text(suite))
