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

from ftlineage.errors import EXIT_BAD_INPUT, BadInputError, FtlineageError, missing_dependency


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


class EndpointUnreachable(BackendError):
    """Nothing answered at an endpoint's address: connection refused, timed out, or no such host.

    Exit 2 like other bad input: the address came from the user (a recipe, ``--base-url``).
    """

    exit_code = EXIT_BAD_INPUT


@dataclass
class OpenAIGenerator:
    """Any OpenAI-compatible server (vLLM, TGI, Ollama, a hosted provider, ``ftlineage.models._serve``).

    ``api="completions"`` (``POST /completions``) sends the prompt already rendered;
    ``api="chat"`` (``POST /chat/completions``) sends it as the user turn (after ``system``, when
    given) and the server applies the model's chat template. Always ``temperature`` 0. The key,
    when the server needs one, is read from the environment variable ``api_key_env`` at request
    time and never stored, logged or put in an error.
    """

    base_url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = 4
    timeout_s: float = 120.0
    name: str = "openai"
    api: str = "completions"
    system: str | None = None

    def _body(self, prompt: str, max_new_tokens: int) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_new_tokens, "temperature": 0}
        if self.api == "chat":
            turns = [{"role": "system", "content": self.system}] if self.system else []
            body["messages"] = [*turns, {"role": "user", "content": prompt}]
            return "/chat/completions", body
        return "/completions", {**body, "prompt": prompt}

    def _one(self, prompt: str, max_new_tokens: int) -> str:
        route, body = self._body(prompt, max_new_tokens)
        answer = post_json(self.base_url.rstrip("/") + route, body, self.api_key_env, self.timeout_s)
        try:
            choice = answer["choices"][0]
            return str(choice["message"]["content"] if self.api == "chat" else choice["text"])
        except (KeyError, IndexError, TypeError):
            field = "choices[0].message.content" if self.api == "chat" else "choices[0].text"
            raise BackendError(
                f"generation endpoint {self.base_url}{route} answered without {field}"
            ) from None

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int) -> tuple[list[str], float]:
        """See :class:`Generator`."""
        start = time.perf_counter()
        with ThreadPoolExecutor(self.concurrency) as pool:
            outputs = list(pool.map(lambda p: self._one(p, max_new_tokens), prompts))
        return outputs, (time.perf_counter() - start) / max(1, len(prompts))


def _request(url: str, body: dict[str, Any] | None, api_key_env: str | None) -> urllib.request.Request:
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(api_key_env) if api_key_env else None
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    return urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")


def post_json(url: str, body: dict[str, Any] | None, api_key_env: str | None, timeout_s: float) -> Any:
    """POST ``body`` (GET when ``None``) to an endpoint and parse the JSON answer.

    Failures raise :class:`BackendError` naming the URL and the HTTP status, never the key.
    """
    try:
        with urllib.request.urlopen(_request(url, body, api_key_env), timeout=timeout_s) as resp:  # noqa: S310
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise BackendError(f"endpoint {url} answered HTTP {exc.code} ({exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise EndpointUnreachable(f"endpoint {url} does not answer ({reason})") from None
    except ValueError as exc:
        raise BackendError(f"endpoint {url} failed: {type(exc).__name__}: {exc}") from None


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
