"""What a candidate is: the recipe's ``candidate:`` section.

A candidate is what the gate scores against its baseline, and how it is registered on a pass::

    candidate: {kind: trained}                      # default: fine-tuned here from the corpus
    candidate: {kind: model, path: out/my-sft}      # a folder, hub id, PEFT adapter or runs:/ID/path
    candidate:                                      # a hosted model behind an OpenAI-compatible API
      kind: endpoint
      base_url: http://127.0.0.1:8000/v1
      model: clinic-ft-v2
      api_key_env: MY_PROVIDER_KEY                  # the key itself never enters a recipe or run
      baseline: {base_url: http://127.0.0.1:8001/v1, model: base}
    candidate: {kind: prompt, prompt: prompts:/postcall@champion}   # or prompts:/name/3, or a file

``model`` and ``endpoint`` candidates may list the training file that produced them under the
recipe's ``corpus:``; it is audited as for a trained candidate. The baseline is the recipe's base
model scored the same way (or ``@champion``); an endpoint may name another endpoint or a model.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

KINDS = ("trained", "model", "endpoint", "prompt")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_PARAM = re.compile(r"(key|token|secret|sig|signature|password|auth|credential)", re.I)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class EndpointSpec(_Strict):
    """An OpenAI-compatible server (vLLM, TGI, Ollama, a hosted provider, ``ftlineage.models._serve``)."""

    base_url: str = Field(description="e.g. http://127.0.0.1:8000/v1 (no credentials in it)")
    model: str = Field(description="the served model's name (what GET /v1/models lists)")
    api_key_env: str | None = Field(None, description="environment variable holding the API key")
    api: Literal["chat", "completions"] = Field(
        "chat", description="chat: the server applies the model's chat template; completions: raw text"
    )
    concurrency: int = Field(4, ge=1, description="requests in flight")
    timeout_s: float = Field(120.0, gt=0, description="seconds per request")

    @model_validator(mode="after")
    def _check(self) -> EndpointSpec:
        check_url(self.base_url)
        check_env_name(self.api_key_env)
        return self


class BaselineSpec(_Strict):
    """What an endpoint or prompt candidate is compared with, when not the recipe's base model."""

    path: str | None = Field(None, description="a model folder or hub id scored in process")
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    api: Literal["chat", "completions"] = "chat"

    @model_validator(mode="after")
    def _one(self) -> BaselineSpec:
        if (self.path is None) == (self.base_url is None):
            raise ValueError("a baseline is either path (a model) or base_url + model (an endpoint)")
        if self.base_url is not None and not self.model:
            raise ValueError("an endpoint baseline needs model (the served model's name)")
        if self.base_url is not None:
            check_url(self.base_url)
        check_env_name(self.api_key_env)
        return self

    def endpoint(self) -> EndpointSpec | None:
        """The endpoint this baseline is, or ``None`` for a model."""
        if self.base_url is None:
            return None
        return EndpointSpec(
            base_url=self.base_url, model=str(self.model), api_key_env=self.api_key_env, api=self.api
        )


class CandidateSpec(_Strict):
    """What the gate scores (see the module docstring for each kind)."""

    kind: Literal["trained", "model", "endpoint", "prompt"] = "trained"
    path: str | None = Field(None, description="model: folder, hub id, PEFT adapter folder or runs:/ID/path")
    base_url: str | None = Field(None, description="endpoint (or prompt on an endpoint): the server")
    model: str | None = Field(None, description="endpoint: the served model's name")
    api_key_env: str | None = Field(None, description="endpoint: environment variable with the key")
    api: Literal["chat", "completions"] = "chat"
    prompt: str | None = Field(None, description="prompt: prompts:/name@alias, prompts:/name/N, or a file")
    baseline: BaselineSpec | None = Field(None, description="endpoint/prompt: what to compare with")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> CandidateSpec:
        needs = {"model": ("path",), "endpoint": ("base_url", "model"), "prompt": ("prompt",), "trained": ()}
        for key in needs[self.kind]:
            if not getattr(self, key):
                raise ValueError(f"kind {self.kind} needs {key}")
        allowed = {"model": {"path"}, "endpoint": {"base_url", "model", "api_key_env", "baseline"}}
        allowed["prompt"] = {"prompt", "base_url", "model", "api_key_env", "baseline"}
        allowed["trained"] = set()
        given = {
            k for k in ("path", "base_url", "model", "api_key_env", "prompt", "baseline") if getattr(self, k)
        }
        extra = sorted(given - allowed[self.kind])
        if extra:
            raise ValueError(f"kind {self.kind} does not use {', '.join(extra)}; remove it or change kind")
        if self.kind == "prompt" and self.base_url and not self.model:
            raise ValueError("a prompt on an endpoint needs model (the served model's name)")
        if self.base_url:
            check_url(self.base_url)
        check_env_name(self.api_key_env)
        return self

    def endpoint(self) -> EndpointSpec | None:
        """The candidate's endpoint (an endpoint, or the server a prompt runs on), if any."""
        if not self.base_url:
            return None
        return EndpointSpec(
            base_url=self.base_url, model=str(self.model), api_key_env=self.api_key_env, api=self.api
        )


def check_env_name(name: str | None) -> None:
    """An ``api_key_env`` must name a variable; a value that looks like the key itself is refused."""
    if name is not None and not ENV_NAME.match(name):
        raise ValueError(
            "api_key_env names an environment variable (e.g. OPENAI_API_KEY), not the key itself"
        )


def check_url(url: str) -> None:
    """An http(s) URL with no user:password in it (a recipe is uploaded with every run)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("base_url must be an http(s) URL, e.g. http://127.0.0.1:8000/v1")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ValueError("base_url has a port that is not a number from 0 to 65535") from None
    if parts.username or parts.password:
        raise ValueError("base_url must not hold credentials (user:password@); put the key in api_key_env")
    if any(_SECRET_PARAM.search(k) for k, _ in parse_qsl(parts.query)):
        raise ValueError("base_url must not carry a key in its query string; put it in api_key_env")


def public_url(url: str) -> str:
    """``url`` without credentials: no user:password, no secret-looking query values, no fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = [(k, "REDACTED" if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), urlencode(query), ""))
