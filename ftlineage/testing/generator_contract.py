"""Conformance suite for a generation backend (:class:`ftlineage.models.Generator`).

Subclass it in your tests and implement :meth:`generator` (and, to check agreement with the
in-process backend, :meth:`reference`)::

    class TestMyBackend(GeneratorContract):
        def generator(self):
            return MyBackend(...)
"""

from __future__ import annotations

from typing import ClassVar

from ftlineage.models import Generator

PROMPTS = (
    "What is 2 + 2?",
    "Name a colour.",
    "Say hello to Ann, who called about a refund on Friday at 3 pm.",
    "",
)


class GeneratorContract:
    """Subclass and implement :meth:`generator`; optionally :meth:`reference` and ``prompts``."""

    prompts: ClassVar[tuple[str, ...]] = PROMPTS
    max_new_tokens: ClassVar[int] = 8

    def generator(self) -> Generator:
        """The backend under test."""
        raise NotImplementedError

    def reference(self) -> Generator | None:
        """A backend the outputs must equal (the in-process ``hf`` one on the same model), or ``None``."""
        return None

    def test_is_a_generator(self) -> None:
        """It satisfies the protocol and names itself."""
        gen = self.generator()
        assert isinstance(gen, Generator)
        assert isinstance(gen.name, str)
        assert gen.name

    def test_one_completion_per_prompt_in_order(self) -> None:
        """Lengths differ and a prompt repeats: each answer stays with its prompt."""
        prompts = [*self.prompts, self.prompts[0]]
        out, seconds = self.generator().generate(prompts, max_new_tokens=self.max_new_tokens)
        assert len(out) == len(prompts)
        assert all(isinstance(o, str) for o in out)
        assert out[0] == out[-1]
        assert seconds >= 0.0

    def test_greedy_is_repeatable(self) -> None:
        """Two calls give the same completions."""
        gen = self.generator()
        first, _ = gen.generate(list(self.prompts), max_new_tokens=self.max_new_tokens)
        again, _ = gen.generate(list(reversed(self.prompts)), max_new_tokens=self.max_new_tokens)
        assert first == list(reversed(again))

    def test_no_prompts_no_calls(self) -> None:
        """An empty batch is an empty answer."""
        out, _ = self.generator().generate([], max_new_tokens=self.max_new_tokens)
        assert out == []

    def test_same_outputs_as_the_reference(self) -> None:
        """Whichever backend serves the model, the outputs (and so the scores) are the same."""
        ref = self.reference()
        if ref is None:
            return
        want, _ = ref.generate(list(self.prompts), max_new_tokens=self.max_new_tokens)
        got, _ = self.generator().generate(list(self.prompts), max_new_tokens=self.max_new_tokens)
        assert got == want
