"""The ``deepeval`` judge: deepeval's ArenaGEval, driven by one of our backends, offline.

Telemetry is switched off before deepeval is imported. The evaluation steps are fixed (deepeval
would otherwise ask the model to write them), so each verdict costs two backend calls: the
comparison and deepeval's rewrite of the reason. ArenaGEval never declares a tie.
"""

from __future__ import annotations

from typing import Any

from ftlineage.arena._backends import Backend, HFChat, OpenAIChat
from ftlineage.arena._judge import Judgement
from ftlineage.arena._llm import _rubric_text
from ftlineage.errors import BadInputError

STEPS = (
    "Check whether each answer does what the input asks, in the format it asks for.",
    "Check whether each stated fact or value is supported by the input.",
    "Prefer the correct, complete answer with no invented facts.",
)


class DeepEvalJudge:
    """ArenaGEval over ``backend`` ("openai" or "hf" with that backend's options, or a Backend)."""

    name = "deepeval"

    def __init__(self, backend: str | Backend = "openai", *, suite: Any = None, **options: Any) -> None:
        from ftlineage.interop.deepeval import _deepeval, offline_model

        deepeval = _deepeval()
        if isinstance(backend, str):
            kinds: dict[str, Any] = {"openai": OpenAIChat, "hf": HFChat}
            if backend not in kinds:
                raise BadInputError(f"unknown deepeval backend {backend!r}; valid: {', '.join(kinds)}")
            self.backend: Backend = kinds[backend](**options)
        else:
            self.backend = backend
        self.rubric = _rubric_text(suite)
        self.steps = (*STEPS, f"Apply this rubric: {self.rubric}")
        self.version = f"arena-geval-{getattr(deepeval, '__version__', '?')}-steps-v2"
        self._model = offline_model(self.backend)

    @property
    def family(self) -> str:
        """The backend model's family."""
        return str(self.backend.family)

    @property
    def params(self) -> dict[str, Any]:
        """Backend parameters, criteria and steps."""
        return {**self.backend.params, "criteria": self.rubric, "steps": list(self.steps)}

    def judge(self, prompt: str, first: str, second: str) -> Judgement:
        """Run ArenaGEval on the two answers; any failure is unscored."""
        from deepeval.metrics import ArenaGEval
        from deepeval.test_case import ArenaTestCase, Contestant, LLMTestCase, SingleTurnParams

        metric = ArenaGEval(
            name="ftlineage-arena",
            criteria=None,
            evaluation_steps=list(self.steps),
            evaluation_params=[SingleTurnParams.INPUT, SingleTurnParams.ACTUAL_OUTPUT],
            model=self._model,
            async_mode=False,
            verbose_mode=False,
        )
        case = ArenaTestCase(
            contestants=[
                Contestant(name="first", test_case=LLMTestCase(input=prompt, actual_output=first)),
                Contestant(name="second", test_case=LLMTestCase(input=prompt, actual_output=second)),
            ]
        )
        try:
            winner = metric.measure(case)
        except Exception as exc:  # noqa: BLE001 - unparsable or failed model replies are unscored
            return Judgement("unscored", f"deepeval: {type(exc).__name__}: {str(exc)[:160]}")
        if winner == "first":
            return Judgement("first", str(metric.reason)[:200])
        if winner == "second":
            return Judgement("second", str(metric.reason)[:200])
        return Judgement("unscored", f"deepeval named no contestant ({winner!r})")
