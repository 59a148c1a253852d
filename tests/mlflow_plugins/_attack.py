"""The guard attack kit: content digests, the key holder's promotions, the invariant, raw REST spellings.

The suite in ``test_guard_attacks.py`` plays two parties against a real guarded server:

* the **key holder** (the gate's CI job, holding ``GUARD_KEY``): every line that logs a gate
  decision or signs evidence is in the "key holder" section below, nowhere else — adapt that
  section, and only it, when the evidence format changes;
* the **attacker** (tracking access, no key): raw REST calls through :class:`Rest`, which spells
  the same request many ways (prefix, API version, method, body encoding, path form).

The invariant (:func:`violations`) loads what production loads — ``models:/<name>@champion``,
``models:/<name>/Production`` and ``prompts:/<name>@champion`` — and compares it with the oracle:
the content digests (or templates) the key holder promoted for that name.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import mlflow
import requests
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from ftlineage.errors import PromotionRefused
from ftlineage.gate import promotion
from ftlineage.tracking import MlflowRegistry, PromptRegistry
from tests.conftest import GUARD_KEY, PASS

EVIL_FILE = "EVIL_WEIGHTS.txt"
CHAMPION = "champion"
CHALLENGER = "challenger"
PRODUCTION = "Production"
EXPERIMENT = "guard-attacks"
TIMEOUT = 10


def content_sha256(folder: str | Path) -> str:
    """SHA-256 over a folder's sorted relative paths and file bytes (length-prefixed, versioned)."""
    root = Path(folder)
    digest = hashlib.sha256(b"ftlineage-attack-content:v1\0")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def model_folder(root: Path, label: str, *, evil: bool = False) -> Path:
    """A small model folder (weights, config, card); ``evil`` adds the file production must never serve."""
    folder = root / label
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(hashlib.sha256(label.encode()).digest() * 8)
    (folder / "config.json").write_text(json.dumps({"label": label}), encoding="utf-8")
    (folder / "model_card.md").write_text(f"# {label}\n", encoding="utf-8")
    if evil:
        (folder / EVIL_FILE).write_text("attacker weights\n", encoding="utf-8")
    return folder


def experiment_id(client: MlflowClient, name: str = EXPERIMENT) -> str:
    """The id of experiment ``name``, created on first use."""
    exp = client.get_experiment_by_name(name)
    return exp.experiment_id if exp else client.create_experiment(name)


# ---------------------------------------------------------------------------------------------
# The key holder. The only code that logs gate decisions or signs; adapt it to a new evidence format.
# ---------------------------------------------------------------------------------------------

KEY = GUARD_KEY.encode()


def _sign_candidate(client: MlflowClient, run_id: str, kind: str) -> None:
    """The job signs the identity of the candidate it decided on (logged model and content digest)."""
    registry = PromptRegistry(client) if kind == "prompt" else MlflowRegistry(client)
    promotion.sign_candidate(registry, run_id, PASS, KEY, kind=kind)


def log_passing_run(client: MlflowClient, folder: Path) -> str:
    """The gate job: a run whose decision passed, its files under ``model/`` and as a logged model."""
    exp = experiment_id(client)
    run_id = client.create_run(exp).info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "decision.json").write_text(PASS.model_dump_json(), encoding="utf-8")
        client.log_artifact(run_id, str(Path(tmp) / "decision.json"), "gate")
    client.log_artifacts(run_id, str(folder), "model")
    model = client.create_logged_model(exp, name="candidate", source_run_id=run_id, model_type="pyfunc")
    client.log_model_artifacts(model.model_id, str(folder))
    client.finalize_logged_model(model.model_id, "READY")
    client.set_tag(run_id, T.CANDIDATE_MODEL_ID, model.model_id)
    client.set_tag(run_id, T.DECISION, "pass")
    _sign_candidate(client, run_id, "model")
    return run_id


def log_passing_prompt_run(client: MlflowClient, template: str) -> str:
    """The gate job for a prompt candidate: a passing decision and ``prompt/prompt.json``."""
    run_id = client.create_run(experiment_id(client)).info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "decision.json").write_text(PASS.model_dump_json(), encoding="utf-8")
        client.log_artifact(run_id, str(Path(tmp) / "decision.json"), "gate")
        (Path(tmp) / "prompt.json").write_text(json.dumps({"template": template}), encoding="utf-8")
        client.log_artifact(run_id, str(Path(tmp) / "prompt.json"), "prompt")
    client.set_tag(run_id, T.CANDIDATE_KIND, "prompt")
    client.set_tag(run_id, T.DECISION, "pass")
    _sign_candidate(client, run_id, "prompt")
    return run_id


def _registry(client: MlflowClient, kind: str) -> MlflowRegistry:
    return PromptRegistry(client) if kind == "prompt" else MlflowRegistry(client)


def register_candidate(client: MlflowClient, name: str, run_id: str, *, kind: str = "model") -> str:
    """``ftlineage promote RUN_ID``: sign the run's candidate and register it as ``@challenger``."""
    if kind == "prompt":
        return promotion.register_prompt_run(
            _registry(client, kind), run_id, name=name, alias=CHALLENGER, key=KEY
        )
    return promotion.register_run(_registry(client, kind), run_id, name=name, alias=CHALLENGER, key=KEY)


def move_champion(
    client: MlflowClient, name: str, *, kind: str = "model", version: str | None = None, stage: bool = False
) -> str:
    """``ftlineage promote --to champion [--version N]``: check the evidence, move the alias (ledger)."""
    registry = _registry(client, kind)
    version = version or promotion.current_version(registry, name, CHALLENGER)
    if version is None:
        raise PromotionRefused(f"{name!r} has no @{CHALLENGER} to promote")
    note = promotion.check_evidence(registry, name, version, KEY)
    stage_name = PRODUCTION if stage else None
    promotion.move_alias(registry, name, CHAMPION, version, why=note, stage=stage_name, key=KEY)
    return version


def promote_signed_model(client: MlflowClient, name: str, folder: Path, *, stage: bool = False) -> str:
    """A gate-passed run over ``folder``, signed and promoted to ``@champion`` (and Production)."""
    version = register_candidate(client, name, log_passing_run(client, folder))
    return move_champion(client, name, version=version, stage=stage)


def promote_signed_prompt(client: MlflowClient, name: str, template: str) -> str:
    """A gate-passed prompt run, signed and promoted to ``@champion``."""
    version = register_candidate(client, name, log_passing_prompt_run(client, template), kind="prompt")
    return move_champion(client, name, kind="prompt", version=version)


# ---------------------------------------------------------------------------------------------
# The invariant: load what production loads and compare it with what the key holder promoted.
# ---------------------------------------------------------------------------------------------


@dataclass
class Protected:
    """A name production loads, and the oracle: the digests (templates) the key holder promoted."""

    name: str
    kind: str  # "model" | "prompt"
    staged: bool = False
    required: bool = True  # False: a URI that does not resolve is fine (nothing was promoted there yet)
    oracle: set[str] = field(default_factory=set)
    runs: dict[str, str] = field(default_factory=dict)  # passing run -> its content (digest or template)

    def uris(self) -> list[str]:
        """The URIs production loads for this name."""
        if self.kind == "prompt":
            return [f"prompts:/{self.name}@{CHAMPION}"]
        extra = [f"models:/{self.name}/{PRODUCTION}"] if self.staged else []
        return [f"models:/{self.name}@{CHAMPION}", *extra]


def load_served(url: str, uri: str) -> tuple[str, list[str]]:
    """What ``uri`` serves: (content digest or template, file names); raises when it does not load."""
    if uri.startswith("prompts:/"):
        pv = mlflow.genai.load_prompt(uri, cache_ttl_seconds=0, link_to_model=False)
        template = pv.template
        return (template if isinstance(template, str) else json.dumps(template, sort_keys=True)), []
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(uri, dst_path=tmp, tracking_uri=url, registry_uri=url)
        files = sorted(p.relative_to(local).as_posix() for p in Path(local).rglob("*") if p.is_file())
        return content_sha256(local), files


def violations(url: str, protected: list[Protected]) -> list[str]:
    """Every way production's URIs fail to serve content the key holder promoted (empty: invariant holds)."""
    out = []
    for p in protected:
        for uri in p.uris():
            try:
                got, files = load_served(url, uri)
            except Exception as exc:  # noqa: BLE001 - a URI production cannot load is the finding
                if p.required:
                    out.append(f"{uri} does not load: {type(exc).__name__}: {str(exc)[:300]}")
                continue
            if any(Path(f).name == EVIL_FILE for f in files):
                out.append(f"{uri} serves {EVIL_FILE} (files {files})")
            elif got not in p.oracle:
                what = repr(got[:80]) if p.kind == "prompt" else f"content {got[:12]}… (files {files})"
                out.append(f"{uri} serves {what}, which the key holder never promoted")
    return out


# ---------------------------------------------------------------------------------------------
# The attacker's transport: one request, spelled one of many ways MLflow accepts (or refuses).
# ---------------------------------------------------------------------------------------------

ENDPOINTS: dict[str, tuple[str, str]] = {
    "create-model": ("POST", "registered-models/create"),
    "rename-model": ("POST", "registered-models/rename"),
    "update-model": ("PATCH", "registered-models/update"),
    "delete-model": ("DELETE", "registered-models/delete"),
    "get-model": ("GET", "registered-models/get"),
    "search-models": ("GET", "registered-models/search"),
    "latest-versions": ("POST", "registered-models/get-latest-versions"),
    "create-version": ("POST", "model-versions/create"),
    "update-version": ("PATCH", "model-versions/update"),
    "transition-stage": ("POST", "model-versions/transition-stage"),
    "delete-version": ("DELETE", "model-versions/delete"),
    "get-version": ("GET", "model-versions/get"),
    "search-versions": ("GET", "model-versions/search"),
    "download-uri": ("GET", "model-versions/get-download-uri"),
    "set-model-tag": ("POST", "registered-models/set-tag"),
    "delete-model-tag": ("DELETE", "registered-models/delete-tag"),
    "set-version-tag": ("POST", "model-versions/set-tag"),
    "delete-version-tag": ("DELETE", "model-versions/delete-tag"),
    "set-alias": ("POST", "registered-models/alias"),
    "delete-alias": ("DELETE", "registered-models/alias"),
    "get-alias": ("GET", "registered-models/alias"),
    "set-run-tag": ("POST", "runs/set-tag"),
    "delete-run": ("POST", "runs/delete"),
}
METHODS = ("POST", "PATCH", "PUT", "DELETE", "GET")
CAMEL = {"new_name": "newName", "archive_existing_versions": "archiveExistingVersions", "run_id": "runId"}


@dataclass
class Counts:
    """What the suite tried: sequences, steps (moves), and attacker requests refused or allowed."""

    sequences: int = 0
    steps: int = 0
    refused: int = 0
    allowed: int = 0
    key_holder_refused: int = 0

    def line(self) -> str:
        """The summary line the suite prints."""
        return (
            f"attack suite: {self.sequences} sequences, {self.steps} steps, {self.refused} refused, "
            f"{self.allowed} allowed ({self.key_holder_refused} key-holder promotions refused)"
        )


class Rest:
    """Raw REST calls as the attacker makes them; ``rng`` (when given) varies the transport spelling."""

    def __init__(self, url: str, counts: Counts, rng: random.Random | None = None) -> None:
        self.url = url.rstrip("/")
        self.counts = counts
        self.rng = rng
        self.log: list[str] = []

    @staticmethod
    def _path(rng: random.Random | None, endpoint: str) -> str:
        api = "ajax-api" if rng and rng.random() < 0.5 else "api"
        major = "3.0" if rng and rng.random() < 0.06 else "2.0"
        path = ENDPOINTS[endpoint][1]
        form = rng.random() if rng else 1.0
        if form < 0.05:
            path += "/"
        elif form < 0.10:
            path = path.replace("/", "//", 1)
        elif form < 0.14:
            path = path.replace("-", "%2D")
        return f"/{api}/{major}/mlflow/{path}"

    @staticmethod
    def _method(rng: random.Random | None, endpoint: str) -> str:
        if rng and rng.random() < 0.08:
            return rng.choice(METHODS)
        return ENDPOINTS[endpoint][0]

    @staticmethod
    def _encode(rng: random.Random | None, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """requests kwargs carrying ``params``: JSON, double-encoded JSON, camelCase, or a query string."""
        if method == "GET":
            return {"params": dict(params)}
        mode = rng.random() if rng else 0.0
        if mode < 0.62:
            return {"json": dict(params)}
        if mode < 0.77:
            headers = {"Content-Type": "application/json"}
            return {"data": json.dumps(json.dumps(dict(params))), "headers": headers}
        if mode < 0.85:  # a query string on a non-GET method (MLflow reads the body there)
            return {"params": {k: str(v) for k, v in params.items()}}
        if mode < 0.93:  # a decoy query string next to the real body
            decoy = {k: f"{v}-decoy" if isinstance(v, str) else v for k, v in params.items()}
            return {"params": decoy, "json": dict(params)}
        return {"json": {CAMEL.get(k, k): v for k, v in params.items()}}

    def call(self, endpoint: str, params: Mapping[str, Any], *, exact: bool = False) -> requests.Response:
        """Send one attacker request (``exact``: the plain spelling) and count it as refused or allowed."""
        rng = None if exact else self.rng
        method, path = self._method(rng, endpoint), self._path(rng, endpoint)
        resp = requests.request(method, self.url + path, timeout=TIMEOUT, **self._encode(rng, method, params))
        self._count(resp, f"{method} {path} {json.dumps(dict(params), ensure_ascii=True)[:240]}")
        return resp

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Any other attacker request (``path`` from the server root), counted like the rest."""
        resp = requests.request(method, self.url + path, timeout=TIMEOUT, **kwargs)
        self._count(resp, f"{method} {path}")
        return resp

    def upload(self, artifact_path: str, data: bytes) -> requests.Response:
        """PUT a file through the proxied artifact endpoint (``mlflow-artifacts:/<artifact_path>``)."""
        api = "ajax-api" if self.rng and self.rng.random() < 0.5 else "api"
        return self.request("PUT", f"/{api}/2.0/mlflow-artifacts/artifacts/{quote(artifact_path)}", data=data)

    def multipart_upload(self, folder: str, name: str, data: bytes) -> requests.Response:
        """Write ``folder/name`` through the proxy's multipart upload (S3 stores hand out part URLs)."""
        create = self.request(
            "POST",
            f"/api/2.0/mlflow-artifacts/mpu/create/{quote(folder)}",
            json={"path": name, "num_parts": 1},
        )
        if not create.ok:
            return create
        started = create.json()
        part = started["credentials"][0]
        put = requests.put(part["url"], data=data, headers=part.get("headers") or {}, timeout=TIMEOUT)
        done = {"part_number": part["part_number"], "etag": put.headers.get("ETag", ""), "url": part["url"]}
        body = {"path": name, "upload_id": started["upload_id"], "parts": [done]}
        return self.request("POST", f"/api/2.0/mlflow-artifacts/mpu/complete/{quote(folder)}", json=body)

    def delete_artifact(self, artifact_path: str) -> requests.Response:
        """DELETE a file through the proxied artifact endpoint."""
        return self.request("DELETE", f"/api/2.0/mlflow-artifacts/artifacts/{quote(artifact_path)}")

    def ui_upload(self, run_id: str, path: str, data: bytes) -> requests.Response:
        """The UI's run-artifact upload (``/ajax-api/2.0/mlflow/upload-artifact``)."""
        params = {"run_uuid": run_id, "path": path}
        return self.request("POST", "/ajax-api/2.0/mlflow/upload-artifact", params=params, data=data)

    def _count(self, resp: requests.Response, what: str) -> None:
        if resp.ok:
            self.counts.allowed += 1
        else:
            self.counts.refused += 1
        self.log.append(f"{resp.status_code} {what} -> {resp.text[:200]!r}")


def read(url: str, endpoint: str, params: Mapping[str, str]) -> dict[str, Any]:
    """An uncounted read (GET, plain spelling); ``{}`` when it fails."""
    path = ENDPOINTS[endpoint][1]
    resp = requests.get(f"{url.rstrip('/')}/api/2.0/mlflow/{path}", params=dict(params), timeout=TIMEOUT)
    return resp.json() if resp.ok else {}


def alias_version(url: str, name: str, alias: str = CHAMPION) -> dict[str, Any] | None:
    """The model version record ``name@alias`` points at (prompts too), or ``None``."""
    return read(url, "get-alias", {"name": name, "alias": alias}).get("model_version")


def version_record(url: str, name: str, version: str) -> dict[str, Any] | None:
    """One model version record (prompts too), or ``None``."""
    return read(url, "get-version", {"name": name, "version": version}).get("model_version")


def tags_of(record: Mapping[str, Any] | None) -> dict[str, str]:
    """A REST record's tags as a dict."""
    return {t["key"]: t.get("value", "") for t in (record or {}).get("tags", [])}


def artifact_path(source_uri: str) -> str | None:
    """The ``mlflow-artifacts`` path behind a download URI, or ``None`` for another scheme."""
    prefix = "mlflow-artifacts:/"
    return source_uri[len(prefix) :].lstrip("/") if source_uri.startswith(prefix) else None


DIGITS = {  # decimal digit zero in scripts Python's int() reads
    "arabic-indic": 0x0660,
    "extended-arabic-indic": 0x06F0,
    "devanagari": 0x0966,
    "bengali": 0x09E6,
    "thai": 0x0E50,
    "fullwidth": 0xFF10,
    "math-bold": 0x1D7CE,
}


def in_script(number: str, zero: int) -> str:
    """``number`` written with the digits whose zero is ``zero``."""
    return "".join(chr(zero + int(d)) for d in number)


VERSION_SPELLINGS: dict[str, Callable[[str], Any]] = {
    "plain": lambda v: v,
    "zero-padded": lambda v: "0" + v,
    "double-zero": lambda v: "00" + v,
    "leading-space": lambda v: " " + v,
    "trailing-space": lambda v: v + " ",
    "plus-sign": lambda v: "+" + v,
    "newline": lambda v: v + "\n",
    "tabs": lambda v: f"\t{v}\t",
    "underscore": lambda v: "0_" + v,
    "json-number": lambda v: int(v),
    "mixed": lambda v: f" +0_{in_script(v, DIGITS['arabic-indic'])}\n",
    **{script: (lambda v, z=zero: in_script(v, z)) for script, zero in DIGITS.items()},
}


def spell_name(rng: random.Random, name: str) -> str:
    """``name`` as is (mostly) or in another case / with whitespace."""
    return rng.choice(
        [name, name, name, name.upper(), name.swapcase(), name + " ", " " + name, name + "\t", name + "\n"]
    )


ALIAS_SPELLINGS = [
    "champion",
    "champion",
    "CHAMPION",
    "Champion",
    "champion ",
    "ｃｈａｍｐｉｏｎ",
    "champion\n",
]
STAGE_SPELLINGS = [
    "Production",
    "production",
    "PRODUCTION",
    " Production",
    "Archived",
    "archived",
    "Staging",
    "None",
]
