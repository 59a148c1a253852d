"""``ftlineage-guard``: an ``mlflow server`` app that keeps protected aliases on gate-passed content.

``mlflow server --app-name ftlineage-guard`` serves the normal tracking server. Its promise,
against anyone without the gate key (``FTLINEAGE_GATE_KEY``) but with tracking access: whatever a
protected alias (``FTLINEAGE_GUARD_ALIASES``, default ``champion``) or protected stage
(``FTLINEAGE_GUARD_STAGES``, default ``Production``) resolves to is a version whose served content
matches evidence signed for a gate-passed decision. See ``docs/threat-model.md``.

How it holds: every write request is matched to the MLflow handler Flask routed it to (not to
its path's spelling), its parameters are parsed by MLflow's own request parser, and its target is
resolved through the store the handler will use. The decision is on the resulting state
(:mod:`mlflow_plugins._guard_state`). Registry writes, artifact writes (Flask and the native
FastAPI artifact routes under uvicorn) and logged-model deletes are checked; a write the guard
cannot read is refused. A server without a key refuses every protected move (it fails closed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from mlflow_plugins._guard_state import GuardState, Policy, _ledger, all_tags, canonical, reserved_tag


class BadRequest(Exception):
    """A guarded request whose parameters cannot be read."""


# --- state --------------------------------------------------------------------------------------
def _policy() -> Policy:
    from ftlineage.gate.evidence import gate_key
    from ftlineage.settings import Settings

    s = Settings.from_env()
    aliases = frozenset(canonical(a) for a in s.guard_aliases)
    return Policy(aliases, frozenset(canonical(x) for x in s.guard_stages), gate_key())


def _read_uri(uri: str, dst: str) -> str:
    """Download ``uri`` with the server's own artifact access (proxied ``mlflow-artifacts:`` too)."""
    from urllib.parse import urlparse

    if uri.startswith("mlflow-artifacts:"):
        from mlflow.server.handlers import _get_artifact_repo_mlflow_artifacts

        path = urlparse(uri).path.lstrip("/")
        return str(_get_artifact_repo_mlflow_artifacts().download_artifacts(path, dst_path=dst))
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return str(get_artifact_repository(uri).download_artifacts("", dst_path=dst))


def state() -> GuardState:
    """The guard's view of this server's stores, under the current settings."""
    from mlflow.server.handlers import _get_model_registry_store, _get_tracking_store

    return GuardState(_get_model_registry_store(), _get_tracking_store(), _read_uri, _policy())


# --- registry requests: one check per MLflow request type ----------------------------------------
def _protected_move(
    s: GuardState, what: str, name: str, version: str, aliases: tuple[str, ...]
) -> str | None:
    """A move onto a protected alias or stage: verifying evidence, and the newest signed ledger entry."""
    refused = s.verify_target(what, name, version)
    if refused:
        return refused
    model, mv = s.model(name), s.version(name, version)
    if model is None or mv is None:
        return f"moving {what} to {name!r} v{version!r} is refused: no such version"
    if str(mv.version) in s.protected_versions(model) and what.startswith("@"):
        held = s.protected_aliases(model)
        if any(v == str(mv.version) and a == what[1:] for a, v in held.items()):
            return None  # already there: nothing changes
    return s.ledger_target(str(model.name), aliases, str(mv.version), what)


def _set_alias(s: GuardState, m: Any) -> str | None:
    if canonical(m.alias) not in s.policy.aliases:
        return None
    return _protected_move(s, f"@{m.alias}", m.name, m.version, (m.alias,))


def _delete_alias(s: GuardState, m: Any) -> str | None:
    if canonical(m.alias) not in s.policy.aliases:
        return None
    return (
        f"deleting @{m.alias} of {m.name!r} is refused: it is what production serves; point it at "
        "another version with verified evidence instead"
    )


def _transition(s: GuardState, m: Any) -> str | None:
    if s.protected_stage(m.stage):
        return _protected_move(s, f"stage {m.stage}", m.name, m.version, tuple(sorted(s.policy.aliases)))
    mv = s.version(m.name, m.version)
    if mv is not None and s.protected_stage(mv.current_stage):
        return (
            f"moving {m.name!r} v{mv.version} out of {mv.current_stage} is refused: move another version "
            "with verified evidence into the stage instead"
        )
    return None


def _protected_version(s: GuardState, name: str, version: str, what: str) -> str | None:
    model, mv = s.model(name), s.version(name, version)
    if model is None or mv is None or not s.is_protected(model, mv):
        return None
    return (
        f"{what} of {model.name!r} v{mv.version} is refused: a protected alias or stage serves that version"
    )


def _delete_version(s: GuardState, m: Any) -> str | None:
    return _protected_version(s, m.name, m.version, "deleting version")


def _version_tag(s: GuardState, m: Any) -> str | None:
    if not reserved_tag(m.key):
        return None
    mv = s.version(m.name, m.version)
    if mv is not None and getattr(m, "value", None) == all_tags(mv).get(m.key):
        return None  # writing the value it already has changes nothing
    return _protected_version(s, m.name, m.version, f"changing tag {m.key!r}")


def _held(s: GuardState, name: str, what: str) -> str | None:
    model = s.model(name)
    if model is None or not s.protected_versions(model):
        return None
    return (
        f"{what} {model.name!r} is refused: a protected alias or stage serves one of its versions, and "
        "this would change what production loads"
    )


def _model_tag(s: GuardState, m: Any) -> str | None:
    """A held model's ``mlflow.*`` tags (``is_prompt`` decides how it loads) keep their values."""
    if s.ledger_protected(m.name):
        return f"changing tag {m.key!r} of {m.name!r} is refused: ledger entries are immutable"
    if not reserved_tag(m.key) or canonical(m.key).startswith("ftlineage."):
        return None
    model = s.model(m.name)
    unchanged = model is not None and getattr(m, "value", None) == all_tags(model).get(m.key)
    return None if unchanged else _held(s, m.name, f"changing tag {m.key!r} of")


def _rename(s: GuardState, m: Any) -> str | None:
    if _ledger(m.name) is not None or _ledger(m.new_name) is not None:
        return f"renaming {m.name!r} to {m.new_name!r} is refused: the ledger namespace is reserved"
    return _held(s, m.name, "renaming")


def _delete_model(s: GuardState, m: Any) -> str | None:
    if _ledger(m.name) is not None:
        return s.ledger_release(m.name)
    return _held(s, m.name, "deleting")


def _create_model(s: GuardState, m: Any) -> str | None:
    if _ledger(m.name) is None:
        return None
    return s.ledger_create(m.name, {t.key: t.value for t in m.tags})


def _allowed(s: GuardState, m: Any) -> str | None:
    return None


CHECKS: dict[str, Callable[[GuardState, Any], str | None]] = {
    "SetRegisteredModelAlias": _set_alias,
    "DeleteRegisteredModelAlias": _delete_alias,
    "TransitionModelVersionStage": _transition,
    "DeleteModelVersion": _delete_version,
    "SetModelVersionTag": _version_tag,
    "DeleteModelVersionTag": _version_tag,
    "SetRegisteredModelTag": _model_tag,
    "DeleteRegisteredModelTag": _model_tag,
    "RenameRegisteredModel": _rename,
    "DeleteRegisteredModel": _delete_model,
    "CreateRegisteredModel": _create_model,
    # New versions serve nothing protected; descriptions serve nothing at all.
    "CreateModelVersion": _allowed,
    "UpdateModelVersion": _allowed,
    "UpdateRegisteredModel": _allowed,
}


def _unknown_write(s: GuardState, m: Any) -> str | None:
    """A registry write this guard has no rule for: refused on a held model (deny by default)."""
    name = getattr(m, "name", "") if any(f.name == "name" for f in m.DESCRIPTOR.fields) else ""
    return _held(s, name, f"{type(m).__name__} on") if name else None


@cache
def _registry_writes() -> dict[Any, type]:
    """MLflow's registry handlers that write, mapped to their request message types."""
    from mlflow.protos.model_registry_pb2 import ModelRegistryService
    from mlflow.server.handlers import HANDLERS

    service = ModelRegistryService()
    classes = {service.GetRequestClass(m) for m in ModelRegistryService.DESCRIPTOR.methods}
    writes = {c for c in classes if not c.__name__.startswith(("Get", "Search"))}
    return {HANDLERS[c]: c for c in writes if c in HANDLERS}


@cache
def _other_writes() -> dict[Any, str]:
    """Artifact and logged-model handlers that can change served files, by the argument naming the target."""
    from mlflow.protos import mlflow_artifacts_pb2 as A
    from mlflow.protos import service_pb2 as S
    from mlflow.server.handlers import HANDLERS

    paths = (A.UploadArtifact, A.DeleteArtifact, A.CreateMultipartUpload, A.CompleteMultipartUpload)
    out: dict[Any, str] = {HANDLERS[c]: "artifact_path" for c in paths if c in HANDLERS}
    if S.DeleteLoggedModel in HANDLERS:
        out[HANDLERS[S.DeleteLoggedModel]] = "model_id"
    return out


# Flask endpoints outside the protobuf services: refused (they write what the guard cannot see),
# or checked as a run artifact upload.
REFUSED_ENDPOINTS = frozenset({"_generate_demo", "_delete_demo"})
RUN_UPLOAD_ENDPOINT = "serve_upload_artifact"


def check_flask_request(endpoint: str, view: Any, request: Any) -> str | None:
    """The refusal message for a routed Flask request, or ``None`` to let it through."""
    from mlflow.server.handlers import _get_normalized_request_json, _get_request_message

    if endpoint in REFUSED_ENDPOINTS:
        return f"{request.path} is refused: the guard cannot check what it writes to the registry"
    if endpoint == RUN_UPLOAD_ENDPOINT:
        return state().run_artifact_write(
            str(request.args.get("run_uuid", "")), str(request.args.get("path", ""))
        )
    if view in _other_writes():
        arg = _other_writes()[view]
        target = str((request.view_args or {}).get(arg, ""))
        s = state()
        return s.artifact_write(target) if arg == "artifact_path" else s.logged_model_delete(target)
    cls = _registry_writes().get(view)
    if cls is None:
        return None
    try:
        body = _get_normalized_request_json(request) if request.method != "GET" else {}
        message = _get_request_message(cls())
    except Exception as exc:
        raise BadRequest(f"its parameters cannot be read ({exc})") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return CHECKS.get(cls.__name__, _unknown_write)(state(), message)


def _answer(status: int, code: str, message: str) -> Any:
    from flask import Response

    body = {"error_code": code, "message": f"ftlineage-guard: {message}"}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _before_request() -> Any:
    from flask import current_app, request

    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    try:
        message = check_flask_request(request.endpoint, view, request)
    except BadRequest as exc:
        return _answer(400, "INVALID_PARAMETER_VALUE", f"request refused: {exc}")
    except Exception as exc:  # noqa: BLE001 - a guard refuses on purpose, never by crashing
        return _answer(403, "PERMISSION_DENIED", f"request refused: the guard could not check it ({exc})")
    return _answer(403, "PERMISSION_DENIED", message) if message else None


# --- native FastAPI routes (uvicorn): the artifact upload and delete routes bypass Flask ---------
_ARTIFACT_WRITE = re.compile(r"/mlflow-artifacts/(?:artifacts|mpu/(?:create|complete))/(?P<path>.*)$")


class ArtifactGuard:
    """ASGI middleware refusing writes into protected versions' files on routes Flask never sees."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Answer 403 to an artifact write into protected files; pass everything else on."""
        method = scope.get("method", "GET") if scope.get("type") == "http" else "GET"
        match = (
            _ARTIFACT_WRITE.search(scope.get("path", ""))
            if method not in ("GET", "HEAD", "OPTIONS")
            else None
        )
        if match is not None:
            import anyio

            try:
                reason = await anyio.to_thread.run_sync(state().artifact_write, match["path"])
            except Exception as exc:  # noqa: BLE001 - refuse, never crash
                reason = f"request refused: the guard could not check it ({exc})"
            if reason:
                body = json.dumps(
                    {"error_code": "PERMISSION_DENIED", "message": f"ftlineage-guard: {reason}"}
                )
                headers = [(b"content-type", b"application/json")]
                await send({"type": "http.response.start", "status": 403, "headers": headers})
                await send({"type": "http.response.body", "body": body.encode()})
                return
        await self.app(scope, receive, send)


def create_app(app: Any = None) -> Any:
    """The app factory ``mlflow server --app-name ftlineage-guard`` loads (Flask or FastAPI)."""
    from mlflow.environment_variables import _MLFLOW_SGI_NAME
    from mlflow.server import app as tracking_app

    flask_app = app or tracking_app
    flask_app.before_request(_before_request)
    if _MLFLOW_SGI_NAME.get() == "uvicorn":
        from mlflow.server.fastapi_app import create_fastapi_app

        fastapi_app = create_fastapi_app(flask_app)
        fastapi_app.add_middleware(ArtifactGuard)
        return fastapi_app
    return flask_app
