"""``ftlineage-guard``: an ``mlflow server`` app that protects the deploy aliases.

``mlflow server --app-name ftlineage-guard`` serves the normal tracking server, but a
request that points a protected alias (``FTLINEAGE_GUARD_ALIASES``, default ``champion``)
at a version, or transitions a version to a protected stage (``FTLINEAGE_GUARD_STAGES``,
default ``Production``), is refused with HTTP 403 unless that version's gate evidence
verifies under the server's ``FTLINEAGE_GATE_KEY``. Both the REST (``/api/...``) and the
UI (``/ajax-api/...``) paths go through the same Flask ``before_request`` hook. A server
without a key refuses every protected move (it fails closed).
"""

from __future__ import annotations

import json
import os
from typing import Any

ALIAS_PATH = "/mlflow/registered-models/alias"
STAGE_PATH = "/mlflow/model-versions/transition-stage"


def _protected(env: str, default: str) -> set[str]:
    return {x.strip().lower() for x in os.environ.get(env, default).split(",") if x.strip()}


def _deny(message: str) -> Any:
    from flask import Response

    body = {"error_code": "PERMISSION_DENIED", "message": f"ftlineage-guard: {message}"}
    return Response(json.dumps(body), status=403, mimetype="application/json")


def _target(path: str, body: dict[str, Any]) -> str | None:
    """What the request would protect-move (e.g. "@champion"), or ``None`` if unprotected."""
    if path.endswith(ALIAS_PATH):
        alias = str(body.get("alias", ""))
        return f"@{alias}" if alias.lower() in _protected("FTLINEAGE_GUARD_ALIASES", "champion") else None
    if path.endswith(STAGE_PATH):
        stage = str(body.get("stage", ""))
        return (
            f"stage {stage}" if stage.lower() in _protected("FTLINEAGE_GUARD_STAGES", "production") else None
        )
    return None


def check_request(path: str, method: str, body: dict[str, Any]) -> str | None:
    """The refusal message for a request, or ``None`` to let it through."""
    from ftlineage.gate.evidence import KEY_ENV, gate_key, verify

    target = _target(path, body) if method == "POST" else None
    if target is None:
        return None
    name, version = str(body.get("name", "")), str(body.get("version", ""))
    key = gate_key()
    if key is None:
        return f"moving {target} is refused: the server has no {KEY_ENV} to verify evidence with"
    from mlflow.exceptions import MlflowException
    from mlflow.server.handlers import _get_model_registry_store

    try:
        mv = _get_model_registry_store().get_model_version(name, version)
    except MlflowException as exc:
        return f"moving {target} to {name!r} v{version} is refused: {exc.message}"
    ok, reason = verify(dict(mv.tags), name, version, key)
    return None if ok else f"moving {target} to {name!r} v{version} is refused: {reason}"


def _before_request() -> Any:
    from flask import request

    if request.method != "POST":
        return None
    message = check_request(request.path, request.method, request.get_json(silent=True, force=True) or {})
    return _deny(message) if message else None


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
