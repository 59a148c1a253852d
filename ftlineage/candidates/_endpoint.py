"""An endpoint's identity: what ``model_sha`` digests when there are no weights to hash.

The identity is the base URL without credentials, the served model id and whatever the server
says about that model in ``GET /models`` (its ``created``/``owned_by``/version/fingerprint
fields, and a ``shutdown_date`` when the provider has announced one). It is an *identity*, not
a weights digest: a provider that swaps weights behind the same id and metadata keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftlineage.candidates._spec import EndpointSpec, public_url
from ftlineage.errors import BadInputError
from ftlineage.lineage import sha256_json
from ftlineage.logging import get_logger
from ftlineage.models import BackendError, EndpointUnreachable, OpenAIGenerator, post_json

logger = get_logger(__name__)

RETIREMENT_KEYS = ("shutdown_date", "deprecation_date", "retirement_date", "deprecated_at")


@dataclass(frozen=True)
class EndpointIdentity:
    """Who answers: URL (no credentials), served model id, what ``/models`` says about it."""

    url: str
    model: str
    listed: dict[str, Any] | None
    shutdown_date: str | None

    @property
    def sha(self) -> str:
        """SHA-256 of the identity (domain ``endpoint``)."""
        return sha256_json({"url": self.url, "model": self.model, "listed": self.listed}, domain="endpoint")


def _retirement(entry: dict[str, Any]) -> str | None:
    found = next((entry[k] for k in RETIREMENT_KEYS if entry.get(k) not in (None, "")), None)
    return str(found) if found is not None else None


PROBE_TIMEOUT_S = 10.0


def identify(spec: EndpointSpec, timeout_s: float = PROBE_TIMEOUT_S) -> EndpointIdentity:
    """Ask the server which models it serves; refuse a model id it does not list.

    An address where nothing answers within ``timeout_s`` (at most the spec's own timeout) is
    refused with :class:`~ftlineage.errors.BadInputError`; a server that answers but has no
    ``GET /models`` (some hosted routes) is identified by URL and model id alone, with a warning.
    """
    url = public_url(spec.base_url)
    timeout = min(timeout_s, spec.timeout_s)
    try:
        answer = post_json(spec.base_url.rstrip("/") + "/models", None, spec.api_key_env, timeout)
    except EndpointUnreachable as exc:
        raise BadInputError(f"{exc}; start the server or fix base_url") from None
    except BackendError as exc:
        logger.warning("warning: %s; the endpoint is identified by its URL and model id only", exc)
        return EndpointIdentity(url, spec.model, None, None)
    data = answer.get("data") if isinstance(answer, dict) else None
    entries = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
    entry = next((e for e in entries if e.get("id") == spec.model), None)
    if entries and entry is None:
        served = ", ".join(sorted(str(e.get("id")) for e in entries)[:20])
        raise BadInputError(
            f"endpoint {url} does not serve model {spec.model!r}; it serves: {served} (fix candidate.model)"
        )
    listed = {k: v for k, v in (entry or {}).items() if isinstance(v, str | int | float | bool)} or None
    return EndpointIdentity(url, spec.model, listed, _retirement(entry or {}))


def generator(spec: EndpointSpec, system: str | None = None) -> OpenAIGenerator:
    """The generator that asks ``spec``'s server (the key read from the environment per request)."""
    return OpenAIGenerator(
        spec.base_url,
        spec.model,
        spec.api_key_env,
        spec.concurrency,
        spec.timeout_s,
        api=spec.api,
        system=system if spec.api == "chat" else None,
    )
