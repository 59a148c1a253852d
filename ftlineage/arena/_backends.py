"""Text-completion backends for model judges: an OpenAI-compatible endpoint or a local HF model.

A backend turns one prompt into one reply, or raises :class:`JudgeCallError` once its retries are
spent; judges turn that error into an ``unscored`` verdict.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ftlineage.errors import FtlineageError, missing_dependency


class JudgeCallError(FtlineageError):
    """A judge backend failed after its retries."""


class Backend(Protocol):
    """One prompt in, one reply out. Thread-safe. ``params`` enter the verdict cache key."""

    family: str

    @property
    def params(self) -> dict[str, Any]:
        """What changes replies: model id, decoding settings."""

    def complete(self, prompt: str) -> str:
        """The model's reply, or :class:`JudgeCallError`."""


@dataclass
class OpenAIChat:
    """Any OpenAI-compatible chat endpoint (vLLM, Ollama, LM Studio, hosted APIs).

    Temperature 0, a per-call timeout, and ``retries`` further attempts with exponential backoff
    (``backoff`` seconds, doubled each time). The key is read from the environment variable
    ``api_key_env`` (default ``OPENAI_API_KEY``; a recipe names the variable, never the key) and,
    for local servers that need none, is a placeholder.
    """

    base_url: str = field(
        default_factory=lambda: os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    )
    model: str = "judge"
    family: str = "unknown"
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    max_tokens: int = 64
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def params(self) -> dict[str, Any]:
        """Model id and decoding settings (not the URL: the same model behind two URLs agrees)."""
        return {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _get_client(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError:
                raise missing_dependency("openai", "the openai judge") from None
            key = self.api_key or os.environ.get(self.api_key_env) or "not-needed"
            self._client = openai.OpenAI(
                base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0
            )
        return self._client

    def complete(self, prompt: str) -> str:
        """Ask the endpoint, retrying transport and server errors with backoff."""
        client = self._get_client()
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                resp = client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "user", "content": prompt}],
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                )
                return resp.choices[0].message.content or ""
            except Exception as exc:  # noqa: BLE001 - any client/transport failure is retried, then unscored
                last = exc
                if attempt < self.retries:
                    time.sleep(self.backoff * 2**attempt)
        raise JudgeCallError(
            f"{self.base_url}: {self.retries + 1} attempts failed ({type(last).__name__}: {last})"
        )


@dataclass
class HFChat:
    """A local Hugging Face causal LM (a path or hub id), greedy decoding."""

    model: str
    family: str = ""  # empty: read ``model_type`` from the model's config
    max_new_tokens: int = 16
    _loaded: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.family:
            self.family = str(self._load()[0].config.model_type)

    @property
    def params(self) -> dict[str, Any]:
        """Model path and decoding length."""
        return {"model": self.model, "max_new_tokens": self.max_new_tokens}

    def _load(self) -> Any:
        if self._loaded is None:
            from ftlineage.models import load_model

            self._loaded = load_model(self.model)
        return self._loaded

    def complete(self, prompt: str) -> str:
        """Greedy reply (one generation at a time); an instruct judge gets its chat template."""
        from ftlineage.models import format_for, generate

        with self._lock:
            model, tok = self._load()
            fmt = format_for(tok, "{prompt}", chat=None)
            try:
                out, _ = generate(
                    model,
                    tok,
                    [fmt.render(tok, prompt)],
                    max_new_tokens=self.max_new_tokens,
                    add_special_tokens=fmt.add_special_tokens,
                )
            except Exception as exc:  # noqa: BLE001 - a failed generation is unscored, not a crash
                raise JudgeCallError(f"{self.model}: generation failed ({exc})") from None
        return out[0]
