r"""What the guard decides on: the registry's state after a request, read from the store itself.

Every identifier a request carries is resolved *through the store* (``get_registered_model``,
``get_model_version`` with the raw string), so a version spelled ``"01"``, ``"+2"``, ``"٢"`` or
``"2\\n"`` names exactly the version MLflow's handler will act on. The guard never compares
request strings with each other.

A registered model is **held** when a protected alias points into it or one of its versions is in
a protected stage; such a version is **protected**. The invariant: every protected alias and
stage resolves to a version whose served content (its files as the artifact store holds them,
or a prompt's template tags) verifies against evidence signed with the gate key. A request is
refused when the state it would produce could break that invariant:

* pointing a protected alias, or moving a version into a protected stage, needs verifying
  evidence for the target version, its content recomputed here;
* a protected version cannot be deleted, leave its protected stage, or have its ``mlflow.*``,
  ``_mlflow*`` or ``ftlineage.*`` tags changed; a protected alias cannot be deleted; a held
  model cannot be renamed, deleted or have those tags changed;
* the promotion ledger of a protected alias (``ftlineage-ledger.<model>.<alias>.<n>``) takes
  only entries the key holder signed, numbered in plain ASCII digits; nobody renames into or out
  of the ledger namespace, and only an entry whose move did not happen may be released;
* artifact writes (uploads, deletes, multipart) into the files a protected version serves are
  refused, and so are deletes of the logged model behind one.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ftlineage import tags as T
from ftlineage.gate.evidence import KEY_ENV, ledger_signature, subject_for, verify
from ftlineage.lineage import sha256_content, sha256_prompt_content

LEDGER_PREFIX = "ftlineage-ledger."
_LEDGER = re.compile(r"ftlineage-ledger\.(?P<model>.+)\.(?P<alias>[^.]+)\.(?P<n>[^.]+)", re.S | re.I)
_LEDGER_NUMBER = re.compile(r"[1-9][0-9]{0,17}")
RESERVED_TAGS = ("mlflow.", "_mlflow", "ftlineage.")
# Tags MLflow itself appends to a prompt version in use: they list runs, they change nothing served.
OPEN_TAGS = frozenset({"mlflow.prompt.associatedrunids"})
IS_PROMPT = "mlflow.prompt.is_prompt"
_RUN_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
PROMPT_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})


def canonical(text: str) -> str:
    """The form two spellings of an alias, stage or prefix are compared in (NFKC, trimmed, casefolded)."""
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


def reserved_tag(key: str) -> bool:
    """Whether a tag key is one a protected version or held model keeps as it was signed."""
    folded = canonical(key)
    return folded.startswith(RESERVED_TAGS) and folded not in OPEN_TAGS


def all_tags(entity: Any) -> dict[str, str]:
    """Every tag of a registry entity as stored (MLflow hides the prompt markers from ``.tags``)."""
    hidden = getattr(entity, "_tags", None)
    shown = getattr(entity, "tags", None)
    merged = dict(shown) if isinstance(shown, dict) else {t.key: t.value for t in shown or []}
    if isinstance(hidden, dict):
        merged.update(hidden)
    return {str(k): str(v) for k, v in merged.items()}


def _ledger(name: str) -> tuple[str, str, str] | None:
    """``(model, alias, n)`` of a ledger name; ``("", "", "")`` for a reserved name that does not parse."""
    if not canonical(name).startswith(LEDGER_PREFIX):
        return None
    m = _LEDGER.fullmatch(name)
    return (m["model"], m["alias"], m["n"]) if m else ("", "", "")


@dataclass(frozen=True)
class Policy:
    """What is protected and the key evidence is checked with."""

    aliases: frozenset[str]
    stages: frozenset[str]
    key: bytes | None


class GuardState:
    """Reads the registry, tracking and artifact stores the server itself uses, and judges requests.

    ``registry`` and ``tracking`` are MLflow store objects; ``read_uri`` downloads an artifact URI
    into a folder and returns the local path (the server's own artifact access).
    """

    def __init__(
        self, registry: Any, tracking: Any, read_uri: Callable[[str, str], str], policy: Policy
    ) -> None:
        self.registry = registry
        self.tracking = tracking
        self.read_uri = read_uri
        self.policy = policy

    # --- reading state ---------------------------------------------------------------------
    def model(self, name: str) -> Any | None:
        """The registered model the store resolves ``name`` to, or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            return self.registry.get_registered_model(name)
        except MlflowException:
            return None

    def version(self, name: str, version: str) -> Any | None:
        """The version the store resolves the raw ``version`` string to, or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            return self.registry.get_model_version(name, version)
        except MlflowException:
            return None

    def protected_aliases(self, model: Any) -> dict[str, str]:
        """``{alias: version}`` of the aliases of ``model`` whose canonical form is protected."""
        raw = model.aliases
        held = dict(raw) if isinstance(raw, dict) else {a.alias: a.version for a in raw or []}
        return {a: str(v) for a, v in held.items() if canonical(a) in self.policy.aliases}

    def protected_stage(self, stage: str | None) -> bool:
        """Whether ``stage`` (any spelling) is protected."""
        return canonical(stage or "") in self.policy.stages

    def protected_versions(self, model: Any) -> set[str]:
        """Version numbers of ``model`` a protected alias or stage serves."""
        out = set(self.protected_aliases(model).values())
        out |= {str(v.version) for v in model.latest_versions or [] if self.protected_stage(v.current_stage)}
        return out

    def is_protected(self, model: Any, mv: Any) -> bool:
        """Whether version ``mv`` of ``model`` is served by a protected alias or sits in a protected stage."""
        return str(mv.version) in self.protected_versions(model) or self.protected_stage(mv.current_stage)

    # --- evidence ------------------------------------------------------------------------------
    def kind(self, model: Any, mv: Any) -> str:
        """``prompt`` when the model or version is marked a prompt, else ``model``."""
        marks = (all_tags(model).get(IS_PROMPT), all_tags(mv).get(IS_PROMPT))
        return "prompt" if "true" in {str(m).lower() for m in marks if m is not None} else "model"

    def served_sha(self, model: Any, mv: Any, kind: str) -> str:
        """The digest of what ``mv`` serves, recomputed from the stores (raises when unreadable)."""
        tags = all_tags(mv)
        if kind == "prompt":
            return sha256_prompt_content(tags)
        uri = self.registry.get_model_version_download_uri(model.name, str(mv.version))
        with tempfile.TemporaryDirectory() as tmp:
            return sha256_content(Path(self.read_uri(self.resolve(uri), tmp)))

    def resolve(self, uri: str) -> str:
        """Where ``uri``'s files are, with ``models:/m-…`` and ``runs:/ID/path`` resolved."""
        if uri.startswith("models:/"):
            ref = uri[len("models:/") :].strip("/")
            return str(self.tracking.get_logged_model(ref).artifact_location)
        if uri.startswith("runs:/"):
            run_id, _, path = uri[len("runs:/") :].strip("/").partition("/")
            root = str(self.tracking.get_run(run_id).info.artifact_uri).rstrip("/")
            return f"{root}/{path}" if path else root
        return uri

    def verify_target(self, what: str, name: str, raw_version: str) -> str | None:
        """Why ``what`` may not point at ``name`` v``raw_version`` (``None`` when its evidence verifies)."""
        key = self.policy.key
        if key is None:
            return f"moving {what} is refused: the server has no {KEY_ENV} to verify evidence with"
        model, mv = self.model(name), self.version(name, raw_version)
        if model is None or mv is None:
            return f"moving {what} to {name!r} v{raw_version!r} is refused: no such version"
        kind = self.kind(model, mv)
        if kind == "prompt" and str(mv.source) not in PROMPT_PLACEHOLDERS:
            return f"moving {what} to {model.name!r} v{mv.version} is refused: a prompt version with files"
        try:
            served = self.served_sha(model, mv, kind)
        except Exception as exc:  # noqa: BLE001 - unreadable content is refused, never trusted
            return f"moving {what} to {model.name!r} v{mv.version} is refused: content unreadable ({exc})"
        tags = all_tags(mv)
        subject = subject_for(
            str(model.name),
            str(mv.version),
            source=str(mv.source),
            run_id=str(mv.run_id or ""),
            kind=kind,
            tier=tags.get(T.TIER, ""),
            content_sha=served,
        )
        ok, reason = verify(tags, subject, key)
        return None if ok else f"moving {what} to {model.name!r} v{mv.version} is refused: {reason}"

    # --- the promotion ledger ----------------------------------------------------------------
    def ledger_protected(self, name: str) -> bool:
        """Whether ``name`` is in the ledger namespace of a protected alias (or does not parse)."""
        parts = _ledger(name)
        return parts is not None and (not parts[1] or canonical(parts[1]) in self.policy.aliases)

    def newest_entry(self, model: str, alias: str) -> tuple[str, dict[str, str]] | None:
        """The newest entry of ``model``'s ledger for ``alias`` (numbered 1, 2, … without gaps)."""
        prefix = f"{LEDGER_PREFIX}{model}.{alias}."
        if self.model(prefix + "1") is None:
            return None
        low, high = 1, 2
        while self.model(f"{prefix}{high}") is not None:
            low, high = high, high * 2
        while high - low > 1:  # entry ``low`` exists, ``high`` does not
            mid = (low + high) // 2
            low, high = (mid, high) if self.model(f"{prefix}{mid}") is not None else (low, mid)
        entry = self.model(f"{prefix}{low}")
        return (f"{prefix}{low}", all_tags(entry)) if entry is not None else None

    def ledger_target(self, model: str, aliases: Iterable[str], version: str, what: str) -> str | None:
        """Why ``what`` may not move to ``version``: only the newest signed ledger entry's target is served.

        The key holder claims a signed ledger entry before every protected move, so a protected
        alias or stage can never be pointed back at older content (even signed) by anyone else,
        nor moved ahead of the ledger.
        """
        for alias in aliases:
            newest = self.newest_entry(model, alias)
            if newest is not None and newest[1].get("to") == version:
                return None
        return (
            f"moving {what} of {model!r} to v{version} is refused: the newest signed entry of its promotion "
            "ledger does not name that version; protected moves go through `ftlineage promote` with the key"
        )

    def ledger_create(self, name: str, tags: dict[str, str]) -> str | None:
        """Why a new ledger entry is refused (``None``: plain number, signed by the key holder)."""
        if not self.ledger_protected(name):
            return None
        parts = _ledger(name) or ("", "", "")
        if not _LEDGER_NUMBER.fullmatch(parts[2]):
            return f"creating {name!r} is refused: a ledger entry of a protected alias ends in a plain number"
        key, mac = self.policy.key, tags.get(T.LEDGER_HMAC, "")
        expected = ledger_signature(name, tags.get("from", ""), tags.get("to", ""), key) if key else None
        if expected is None or mac != expected:
            return f"creating {name!r} is refused: a protected ledger takes signed entries only ({KEY_ENV})"
        return None

    def ledger_release(self, name: str) -> str | None:
        """Why deleting a ledger entry is refused: only the newest, whose move did not happen, may go."""
        if not self.ledger_protected(name):
            return None
        entry = self.model(name)
        parts = _ledger(name) or ("", "", "")
        if entry is None or not _LEDGER_NUMBER.fullmatch(parts[2]):
            return None if entry is None else f"deleting {name!r} is refused: it is not a ledger entry"
        nxt = f"{name[: len(name) - len(parts[2])]}{int(parts[2]) + 1}"
        target = self.model(parts[0])
        now = self.protected_aliases(target).get(parts[1]) if target is not None else None
        moved = now is not None and now == all_tags(entry).get("to")
        if self.model(nxt) is not None or moved:
            return f"deleting {name!r} is refused: it records a move that happened (the alias's history)"
        return None

    # --- artifacts -----------------------------------------------------------------------------
    def protected_uris(self) -> list[str]:
        """The artifact URIs protected versions serve from (logged models resolved)."""
        out: list[str] = []
        for model in self._all_models():
            for version in self.protected_versions(model):
                try:
                    out.append(
                        self.resolve(self.registry.get_model_version_download_uri(model.name, version))
                    )
                except Exception:  # noqa: BLE001,S112 - a version that cannot resolve serves nothing
                    continue
        return out

    def protected_locations(self) -> list[str]:
        """Artifact-root-relative folders (proxied URIs) that protected versions serve from."""
        proxied = (u for u in self.protected_uris() if u.startswith("mlflow-artifacts:"))
        return [posixpath.normpath(urlparse(u).path.lstrip("/")) for u in proxied]

    def _all_models(self) -> Iterable[Any]:
        token = None
        while True:
            page = self.registry.search_registered_models(max_results=1000, page_token=token)
            yield from page
            token = getattr(page, "token", None)
            if not token:
                return

    def artifact_write(self, path: str) -> str | None:
        """Why a write to artifact ``path`` (relative to the artifact root) is refused, if it is."""
        target = posixpath.normpath(unquote(path).lstrip("/"))
        for loc in self._locations_near(target):
            if target == loc or target.startswith(loc + "/") or loc.startswith(target + "/") or target == ".":
                return f"writing artifact {path!r} is refused: a protected version serves {loc!r}"
        return None

    def _locations_near(self, target: str) -> list[str]:
        """Protected folders that may contain ``target``: those of the run owning the path, else all.

        Artifact paths read ``<experiment>/<run>/artifacts/…`` or ``<experiment>/models/<model>/…``;
        a protected version serves files of the run that produced it (its own artifacts or its
        logged model), so only that run's versions are looked at. A path that names no run
        (an experiment folder, the root) is checked against every protected version.
        """
        parts = target.split("/")
        run = parts[1] if len(parts) >= 2 else ""
        if len(parts) >= 3 and parts[1] == "models":
            try:
                run = str(self.tracking.get_logged_model(parts[2]).source_run_id or "")
            except Exception:  # noqa: BLE001 - no such logged model: nothing registered serves it
                return []
        if not _RUN_ID.fullmatch(run):
            return self.protected_locations()
        out: list[str] = []
        for mv in self.registry.search_model_versions(f"run_id = '{run}'", max_results=1000):
            model = self.model(mv.name)
            if model is None or not self.is_protected(model, mv):
                continue
            uri = self.resolve(self.registry.get_model_version_download_uri(model.name, str(mv.version)))
            if uri.startswith("mlflow-artifacts:"):
                out.append(posixpath.normpath(urlparse(uri).path.lstrip("/")))
        return out

    def run_artifact_write(self, run_id: str, path: str) -> str | None:
        """Why a write into run ``run_id``'s artifacts at ``path`` is refused, if it is."""
        from mlflow.exceptions import MlflowException

        try:
            root = str(self.tracking.get_run(run_id).info.artifact_uri)
        except MlflowException:
            return None
        if not root.startswith("mlflow-artifacts:"):
            return None
        return self.artifact_write(posixpath.join(urlparse(root).path.lstrip("/"), path or ""))

    def logged_model_delete(self, model_id: str) -> str | None:
        """Why deleting logged model ``model_id`` is refused: a protected version serves its files."""
        try:
            loc = str(self.tracking.get_logged_model(model_id).artifact_location)
        except Exception:  # noqa: BLE001 - no such model: the handler answers
            return None
        if loc.rstrip("/") in {u.rstrip("/") for u in self.protected_uris()}:
            return f"deleting logged model {model_id!r} is refused: a protected version serves its files"
        return None
