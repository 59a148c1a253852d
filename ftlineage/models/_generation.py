"""Generation backends behind one contract: ``hf`` (in process), ``vllm`` (GPU), ``openai`` (an endpoint).

Every scoring pass asks a :class:`Generator` for completions of fully rendered prompts (the
:class:`~ftlineage.models.PromptFormat` has already applied the text or chat template), so the
same model gives the same outputs — and the same scores — whichever backend serves it.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ftlineage.errors import BadInputError, FtlineageError, missing_dependency


@runtime_checkable
class Generator(Protocol):
    """Completes rendered prompts.

    Contract: ``generate(prompts, max_new_tokens=n)`` returns one completion per prompt, in the
    prompts' order, decoded greedily (no sampling), without the prompt and without the
    end-of-turn token, and the mean wall seconds per prompt. It never reorders or drops a prompt;
    a backend that cannot answer raises :class:`~ftlineage.errors.FtlineageError`.
    """

    name: str

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int) -> tuple[list[str], float]:
        """Completions of ``prompts`` and mean seconds per prompt."""
        ...


@dataclass
class HFGenerator:
    """Batched, length-sorted greedy generation with the KV cache, on the model's device."""

    model: Any
    tokenizer: Any
    add_special_tokens: bool = True
    batch_size: int | None = 32
    memory_gb: float = 2.0
    name: str = "hf"

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int) -> tuple[list[str], float]:
        """See :class:`Generator`."""
        from ftlineage.models._load import generate

        return generate(
            self.model,
            self.tokenizer,
            prompts,
            max_new_tokens=max_new_tokens,
            batch_size=self.batch_size,
            add_special_tokens=self.add_special_tokens,
            memory_gb=self.memory_gb,
        )


class BackendError(FtlineageError):
    """A generation endpoint failed or answered out of contract."""


@dataclass
class OpenAIGenerator:
    """Any OpenAI-compatible server (vLLM, TGI, Ollama, ``ftlineage serve``): ``POST /completions``.

    The prompt is sent already rendered, with ``temperature`` 0; the key, when the server needs
    one, is read from the environment variable ``api_key_env`` and never logged.
    """

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 4
    timeout_s: float = 120.0
    name: str = "openai"

    def _one(self, prompt: str, max_new_tokens: int) -> str:
        body = {"model": self.model, "prompt": prompt, "max_tokens": max_new_tokens, "temperature": 0}
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.base_url.rstrip("/") + "/completions"
        req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - user's endpoint
                answer = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise BackendError(f"generation endpoint {url} failed: {type(exc).__name__}: {exc}") from None
        try:
            return str(answer["choices"][0]["text"])
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"generation endpoint {url} answered without choices[0].text") from None

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int) -> tuple[list[str], float]:
        """See :class:`Generator`."""
        start = time.perf_counter()
        with ThreadPoolExecutor(self.concurrency) as pool:
            outputs = list(pool.map(lambda p: self._one(p, max_new_tokens), prompts))
        return outputs, (time.perf_counter() - start) / max(1, len(prompts))


class VLLMGenerator:
    """vLLM on a GPU; a checkpoint's LoRA adapter is scored as a ``LoRARequest``, never merged."""

    name = "vllm"

    def __init__(self, model_path: str, *, adapter: str | None = None, dtype: str = "auto") -> None:
        try:
            from vllm import LLM
        except ImportError:
            raise missing_dependency("vllm", "generation.backend: vllm") from None
        self._llm = LLM(model=model_path, dtype=dtype, enable_lora=adapter is not None, seed=0)
        self.adapter = adapter

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int) -> tuple[list[str], float]:
        """See :class:`Generator`."""
        from vllm import SamplingParams
        from vllm.lora.request import LoRARequest

        start = time.perf_counter()
        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
        lora = LoRARequest("checkpoint", 1, self.adapter) if self.adapter else None
        outs = self._llm.generate(list(prompts), params, lora_request=lora, use_tqdm=False)
        return [o.outputs[0].text for o in outs], (time.perf_counter() - start) / max(1, len(prompts))


BACKENDS = ("hf", "vllm", "openai", "ray")


def make_generator(spec: Any, model: Any, tokenizer: Any, *, add_special_tokens: bool) -> Generator:
    """The generator a recipe's ``generation`` section asks for (``hf`` wraps ``model``).

    ``hf`` runs on Ray instead when the engine is ``ray`` (``ftlineage run --engine ray``), with the
    same batches, so with the same completions.
    """
    from ftlineage.settings import Settings

    settings = Settings.from_env()
    if spec.backend == "ray" or (spec.backend == "hf" and settings.engine == "ray"):
        from ftlineage.models._ray import RayGenerator

        return RayGenerator(
            model, tokenizer, add_special_tokens, spec.batch_size, spec.memory_gb, settings.ray_workers
        )
    if spec.backend == "hf":
        return HFGenerator(model, tokenizer, add_special_tokens, spec.batch_size, spec.memory_gb)
    if spec.backend == "openai":
        return OpenAIGenerator(spec.base_url, spec.model or "default", spec.api_key_env, spec.concurrency)
    if spec.backend == "vllm":
        return VLLMGenerator(str(getattr(model, "name_or_path", "")))
    raise BadInputError(f"generation.backend {spec.backend!r} is unknown; valid: {', '.join(BACKENDS)}")
