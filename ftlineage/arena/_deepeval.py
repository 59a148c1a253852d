"""The ``deepeval`` judge: deepeval's ArenaGEval, driven by one of our backends, offline.

Telemetry is switched off before deepeval is imported. The evaluation steps are fixed (deepeval
would otherwise ask the model to write them), so each verdict costs two backend calls: the
comparison and deepeval's rewrite of the reason. ArenaGEval never declares a tie.
"""

from __future__ import annotations

import os
from typing import Any

from ftlineage.arena._backends import Backend, HFChat, OpenAIChat
from ftlineage.arena._judge import Judgement
from ftlineage.arena._llm import RUBRIC
from ftlineage.errors import BadInputError, missing_dependency

STEPS = (
    "Check whether each answer is one valid JSON object.",
    "Check whether each stated value appears in the input transcript.",
    "Prefer the answer with more of the transcript's facts and no invented ones.",
)


def _wrapper(backend: Backend) -> Any:
    from deepeval.models.base_model import DeepEvalBaseLLM

    class BackendModel(DeepEvalBaseLLM):
        """deepeval's model interface over an ftlineage backend."""

        def __init__(self) -> None:
            self.backend = backend
            super().__init__(model=str(backend.params.get("model", "backend")))

        def load_model(self, *args: Any, **kwargs: Any) -> Any:
            return self.backend

        def generate(self, prompt: str, *args: Any, **kwargs: Any) -> str:
            return self.backend.complete(prompt)

        async def a_generate(self, prompt: str, *args: Any, **kwargs: Any) -> str:
            return self.backend.complete(prompt)

        def get_model_name(self, *args: Any, **kwargs: Any) -> str:
            return f"ftlineage:{self.name}"

    return BackendModel()


class DeepEvalJudge:
    """ArenaGEval over ``backend`` ("openai" or "hf" with that backend's options, or a Backend)."""

    name = "deepeval"

    def __init__(self, backend: str | Backend = "openai", **options: Any) -> None:
        os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "1")
        os.environ.setdefault("DEEPEVAL_UPDATE_WARNING_OPT_IN", "0")
        try:
            import deepeval
        except ImportError:
            raise missing_dependency("deepeval", "the deepeval judge") from None
        if isinstance(backend, str):
            kinds: dict[str, Any] = {"openai": OpenAIChat, "hf": HFChat}
            if backend not in kinds:
                raise BadInputError(f"unknown deepeval backend {backend!r}; valid: {', '.join(kinds)}")
            self.backend: Backend = kinds[backend](**options)
        else:
            self.backend = backend
        self.version = f"arena-geval-{getattr(deepeval, '__version__', '?')}-steps-v1"
        self._model = _wrapper(self.backend)

    @property
    def family(self) -> str:
        """The backend model's family."""
        return str(self.backend.family)

    @property
    def params(self) -> dict[str, Any]:
        """Backend parameters, criteria and steps."""
        return {**self.backend.params, "criteria": RUBRIC, "steps": list(STEPS)}

    def judge(self, prompt: str, first: str, second: str) -> Judgement:
        """Run ArenaGEval on the two answers; any failure is unscored."""
        from deepeval.metrics import ArenaGEval
        from deepeval.test_case import ArenaTestCase, Contestant, LLMTestCase, SingleTurnParams

        metric = ArenaGEval(
            name="ftlineage-arena",
            criteria=None,
            evaluation_steps=list(STEPS),
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
