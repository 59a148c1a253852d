"""``ftlineage-guard``: an ``mlflow server`` app that protects the deploy aliases.

``mlflow server --app-name ftlineage-guard`` serves the normal tracking server, but every
request that would change what a protected alias (``FTLINEAGE_GUARD_ALIASES``, default
``champion``) or protected stage (``FTLINEAGE_GUARD_STAGES``, default ``Production``) serves
goes through one Flask ``before_request`` hook, on the REST (``/api/...``) and UI
(``/ajax-api/...``) paths alike:

* pointing a protected alias at a version, or moving a version to a protected stage, needs
  that version's gate evidence to verify under the server's ``FTLINEAGE_GATE_KEY``, bound to
  the version's name, number, source URI, run and weights SHA-256;
* deleting a protected alias, renaming or deleting a registered model that holds one, and
  deleting the version a protected alias points at are refused: they change what production
  serves without evidence. Retire a champion by pointing the alias at another verified version.

The hook reads a request's parameters exactly as MLflow's handlers do (query arguments for GET,
the JSON body, double-encoded or not, otherwise). A body it cannot read is refused with 400. A
server without a key refuses every protected move (it fails closed).
"""

from __future__ import annotations

import json
from typing import Any

ALIAS_PATH = "/mlflow/registered-models/alias"
STAGE_PATH = "/mlflow/model-versions/transition-stage"
RENAME_PATH = "/mlflow/registered-models/rename"
DELETE_MODEL_PATH = "/mlflow/registered-models/delete"
DELETE_VERSION_PATH = "/mlflow/model-versions/delete"
_GUARDED = (ALIAS_PATH, STAGE_PATH, RENAME_PATH, DELETE_MODEL_PATH, DELETE_VERSION_PATH)


class BadRequest(Exception):
    """A guarded request whose parameters cannot be read."""


def _aliases() -> set[str]:
    from ftlineage.settings import Settings

    return set(Settings.from_env().guard_aliases)


def _stages() -> set[str]:
    from ftlineage.settings import Settings

    return set(Settings.from_env().guard_stages)


def _answer(status: int, code: str, message: str) -> Any:
    from flask import Response

    body = {"error_code": code, "message": f"ftlineage-guard: {message}"}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _store() -> Any:
    from mlflow.server.handlers import _get_model_registry_store

    return _get_model_registry_store()


def _held_aliases(name: str, version: str | None = None) -> list[str]:
    """Protected aliases of model ``name`` (pointing at ``version``, when given)."""
    from mlflow.exceptions import MlflowException

    try:
        model = _store().get_registered_model(name)
    except MlflowException:
        return []
    aliases = model.aliases
    held = dict(aliases) if isinstance(aliases, dict) else {a.alias: a.version for a in aliases or []}
    protected = _aliases()
    return sorted(a for a, v in held.items() if a.lower() in protected and version in (None, str(v)))


def _verify_move(target: str, name: str, version: str) -> str | None:
    from mlflow.exceptions import MlflowException

    from ftlineage.gate.evidence import KEY_ENV, Subject, gate_key, verify

    key = gate_key()
    if key is None:
        return f"moving {target} is refused: the server has no {KEY_ENV} to verify evidence with"
    try:
        mv = _store().get_model_version(name, version)
    except MlflowException as exc:
        return f"moving {target} to {name!r} v{version} is refused: {exc.message}"
    from ftlineage.tracking import stored_subject

    source, run_id = stored_subject(mv) or (str(mv.source), str(mv.run_id or ""))
    subject = Subject(name, str(mv.version), source, run_id)
    ok, reason = verify(dict(mv.tags), subject, key)
    return None if ok else f"moving {target} to {name!r} v{version} is refused: {reason}"


def _check_alias(method: str, body: dict[str, Any]) -> str | None:
    alias = str(body.get("alias", ""))
    if alias.lower() not in _aliases():
        return None
    name = str(body.get("name", ""))
    if method == "DELETE":
        return (
            f"deleting @{alias} of {name!r} is refused: it is what production serves; point it at "
            "another version with verified evidence instead"
        )
    return _verify_move(f"@{alias}", name, str(body.get("version", "")))


def _check_removal(path: str, body: dict[str, Any]) -> str | None:
    name = str(body.get("name", ""))
    version = str(body["version"]) if path == DELETE_VERSION_PATH and "version" in body else None
    held = _held_aliases(name, version)
    if not held:
        return None
    what = {RENAME_PATH: f"renaming {name!r}", DELETE_MODEL_PATH: f"deleting {name!r}"}.get(
        path, f"deleting {name!r} v{version}"
    )
    return (
        f"{what} is refused: protected alias(es) {', '.join('@' + a for a in held)} point there; "
        "a rename or delete would let another model take over the name production loads"
    )


def check_request(path: str, method: str, body: dict[str, Any]) -> str | None:
    """The refusal message for a request, or ``None`` to let it through."""
    route = next((p for p in _GUARDED if path.rstrip("/").endswith(p)), None)
    if route is None or method == "GET":
        return None
    if route == ALIAS_PATH:
        return _check_alias(method, body)
    if route == STAGE_PATH:
        stage = str(body.get("stage", ""))
        if stage.lower() not in _stages():
            return None
        return _verify_move(f"stage {stage}", str(body.get("name", "")), str(body.get("version", "")))
    return _check_removal(route, body)


def request_params(method: str, args: Any, raw: Any) -> dict[str, Any]:
    """A request's parameters as MLflow's handlers read them (query for GET, JSON body otherwise)."""
    if method == "GET":
        return dict(args.items()) if args else {}
    body = raw
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)  # MLflow accepts double-encoded JSON from old clients
        except ValueError:
            raise BadRequest("the body is a string that is not JSON") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def _before_request() -> Any:
    from flask import request

    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not any(request.path.rstrip("/").endswith(p) for p in _GUARDED):
        return None
    try:
        params = request_params(request.method, request.args, request.get_json(silent=True, force=True))
        message = check_request(request.path, request.method, params)
    except BadRequest as exc:
        return _answer(400, "INVALID_PARAMETER_VALUE", f"request refused: {exc}")
    except Exception as exc:  # noqa: BLE001 - a guard refuses on purpose, never by crashing
        return _answer(403, "PERMISSION_DENIED", f"request refused: the guard could not check it ({exc})")
    return _answer(403, "PERMISSION_DENIED", message) if message else None


def create_app(app: Any = None) -> Any:
    """The app factory ``mlflow server --app-name ftlineage-guard`` loads (Flask or FastAPI)."""
    from mlflow.environment_variables import _MLFLOW_SGI_NAME
    from mlflow.server import app as tracking_app

    flask_app = app or tracking_app
    flask_app.before_request(_before_request)
    if _MLFLOW_SGI_NAME.get() == "uvicorn":
        from mlflow.server.fastapi_app import create_fastapi_app

        return create_fastapi_app(flask_app)
    return flask_app
