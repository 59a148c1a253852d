"""The attack sequences: a world of protected names, the parties' moves, one seeded sequence.

A sequence sets up three names the key holder promotes (a model, a model also in Production, a
prompt), then draws weighted moves from :data:`MOVES`: the attacker's (every registry endpoint and
identifier spelling, run tags, ledger forgeries, artifact-proxy writes, and the known attack chains)
and the key holder's (log a passing run, ``promote RUN_ID``, ``promote --to champion``). After
every move :func:`~tests.mlflow_plugins._attack.violations` loads what production serves; the
first violation ends the sequence as a :class:`Finding` with the trail of moves and answers. A
sequence that survives ends with a key-holder promotion of fresh content, which must work.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from ftlineage.gate import promotion
from tests.mlflow_plugins._attack import (
    ALIAS_SPELLINGS,
    CHAMPION,
    EVIL_FILE,
    PRODUCTION,
    STAGE_SPELLINGS,
    VERSION_SPELLINGS,
    Counts,
    Protected,
    Rest,
    alias_version,
    artifact_path,
    content_sha256,
    experiment_id,
    log_passing_prompt_run,
    log_passing_run,
    model_folder,
    move_champion,
    read,
    register_candidate,
    spell_name,
    tags_of,
    violations,
)


@dataclass
class Evil:
    """The attacker's own content: a run folder and a logged model, both holding ``EVIL_WEIGHTS.txt``."""

    run_id: str
    source: str
    model_id: str

    @classmethod
    def make(cls, client: MlflowClient, root: Path) -> Evil:
        """Log the attacker's folder as a run artifact and as a logged model (anyone may)."""
        folder = model_folder(root, f"evil-{uuid.uuid4().hex[:6]}", evil=True)
        exp = experiment_id(client, "attacker")
        info = client.create_run(exp).info
        client.log_artifacts(info.run_id, str(folder), "evil")
        model = client.create_logged_model(exp, name="evil", source_run_id=info.run_id)
        client.log_model_artifacts(model.model_id, str(folder))
        client.finalize_logged_model(model.model_id, "READY")
        return cls(info.run_id, f"{info.artifact_uri}/evil", model.model_id)


@dataclass
class World:
    """One sequence's state: the server, the parties, the protected names and what the attacker made."""

    url: str
    client: MlflowClient
    rest: Rest
    rng: random.Random
    root: Path
    evil: Evil
    tag: str
    protected: list[Protected] = field(default_factory=list)
    pending: dict[str, list[str]] = field(default_factory=dict)  # name -> passing runs not yet registered
    made: dict[str, list[str]] = field(default_factory=dict)  # name -> versions the attacker created
    spare: list[str] = field(default_factory=list)  # registered models the attacker created
    serial: int = 0

    def fresh(self, what: str) -> str:
        """A new name or label unique to this sequence."""
        self.serial += 1
        return f"{self.tag}-{what}{self.serial}"

    def pick(self, kind: str | None = None) -> Protected:
        """A protected name (of ``kind``)."""
        return self.rng.choice([p for p in self.protected if kind in (None, p.kind)])

    def spelled(self, name: str) -> str:
        """``name``, or now and then another case or whitespace around it."""
        return spell_name(self.rng, name) if self.rng.random() < 0.3 else name


def new_candidate(w: World, p: Protected) -> str:
    """The gate job logs a passing run with fresh content for ``p``; returns the run id."""
    if p.kind == "prompt":
        content = f"{w.fresh('template')}: {{{{input}}}}"
        run_id = log_passing_prompt_run(w.client, content)
    else:
        folder = model_folder(w.root, w.fresh("weights"))
        content, run_id = content_sha256(folder), log_passing_run(w.client, folder)
    p.runs[run_id] = content
    w.pending.setdefault(p.name, []).append(run_id)
    return run_id


def key_holder(
    w: World, what: str, action: Callable[..., object], *args: Any, **kwargs: Any
) -> tuple[bool, str]:
    """Run a key-holder step: (done, what happened). A refusal is fine (counted); the invariant judges."""
    try:
        result = action(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any refusal is allowed here; the invariant judges the state
        w.rest.counts.key_holder_refused += 1
        return False, f"key holder {what}: refused ({type(exc).__name__}: {str(exc)[:200]})"
    return True, f"key holder {what}: done ({result})"


def kh_new_run(w: World) -> str:
    """The gate job logs a new passing run for a protected name."""
    p = w.pick()
    return f"gate job logs passing run {new_candidate(w, p)} for {p.name!r}"


def _register(w: World, p: Protected) -> tuple[bool, str]:
    run_id = (w.pending.get(p.name) or [new_candidate(w, p)]).pop()
    p.oracle.add(p.runs[run_id])  # what the job logged is legitimate, whatever the run's tags say now
    what = f"registers run {run_id} of {p.name!r}"
    return key_holder(w, what, register_candidate, w.client, p.name, run_id, kind=p.kind)


def _champion_move(w: World, p: Protected) -> tuple[bool, str]:
    stage = p.staged and w.rng.random() < 0.7  # else Production keeps the version it had
    what = f"moves @champion of {p.name!r} to @challenger (stage {stage})"
    return key_holder(w, what, move_champion, w.client, p.name, kind=p.kind, stage=stage)


def kh_register(w: World) -> str:
    """``promote RUN_ID`` of the newest passing run of a protected name."""
    return _register(w, w.pick())[1]


def kh_champion(w: World) -> str:
    """``promote --to champion``: whatever ``@challenger`` points at, if its evidence verifies."""
    return _champion_move(w, w.pick())[1]


def kh_promote(w: World) -> str:
    """Both, for one name: register the newest passing run and move the champion to it."""
    p = w.pick()
    done, first = _register(w, p)
    return f"{first}; {_champion_move(w, p)[1]}" if done else first


def _champion(w: World, p: Protected) -> dict[str, Any] | None:
    return alias_version(w.url, p.name)


def _production(w: World, p: Protected) -> str | None:
    found = read(w.url, "latest-versions", {"name": p.name, "stages": PRODUCTION}).get("model_versions", [])
    return found[0]["version"] if found else None


def _target(w: World, p: Protected) -> str:
    """A version number of ``p`` worth attacking: mostly what production serves."""
    champion, r = _champion(w, p), w.rng.random()
    if champion and r < 0.6:
        return str(champion["version"])
    if p.staged and r < 0.75:
        return _production(w, p) or "1"
    return w.rng.choice(w.made.get(p.name, []) + [str(w.rng.randint(1, 4))])


def _spell(w: World, version: str) -> tuple[str, Any]:
    how = w.rng.choice(list(VERSION_SPELLINGS))
    return how, VERSION_SPELLINGS[how](version)


def mv_delete_version(w: World) -> str:
    p = w.pick()
    version = _target(w, p)
    how, spelled = _spell(w, version)
    w.rest.call("delete-version", {"name": w.spelled(p.name), "version": spelled})
    return f"delete v{version} of {p.name!r}, version spelled {how}"


def mv_delete_alias(w: World) -> str:
    p = w.pick()
    alias = w.rng.choice([*ALIAS_SPELLINGS, "challenger"])
    w.rest.call("delete-alias", {"name": w.spelled(p.name), "alias": alias})
    return f"delete @{alias!r} of {p.name!r}"


def mv_point_alias(w: World) -> str:
    p = w.pick()
    alias = w.rng.choice([*ALIAS_SPELLINGS, "challenger", "canary"])
    version = w.rng.choice(w.made.get(p.name, []) + [str(w.rng.randint(1, 4))])
    how, spelled = _spell(w, version)
    w.rest.call("set-alias", {"name": w.spelled(p.name), "alias": alias, "version": spelled})
    return f"point @{alias!r} of {p.name!r} at v{version} spelled {how}"


def mv_stage(w: World) -> str:
    p = w.pick("model")
    version, stage = _target(w, p), w.rng.choice(STAGE_SPELLINGS)
    how, spelled = _spell(w, version)
    archive = w.rng.random() < 0.5
    params = {
        "name": w.spelled(p.name),
        "version": spelled,
        "stage": stage,
        "archive_existing_versions": archive,
    }
    w.rest.call("transition-stage", params)
    return f"move v{version} ({how}) of {p.name!r} to stage {stage!r}, archive others {archive}"


def _ledger(p: Protected) -> str:
    return f"{promotion.LEDGER}.{p.name}.{CHAMPION}."


def _spare(w: World) -> str:
    if not w.spare or w.rng.random() < 0.3:
        name = w.fresh("spare")
        if w.rest.call("create-model", {"name": name}, exact=True).ok:
            w.spare.append(name)
        return name
    return w.rng.choice(w.spare)


def mv_rename(w: World) -> str:
    p, r = w.pick(), w.rng.random()
    if r < 0.4:
        old, new = w.spelled(p.name), w.fresh("renamed")
    elif r < 0.8:
        old, new = _spare(w), spell_name(w.rng, p.name)
    else:
        old, new = f"{_ledger(p)}1", w.fresh("ledger-moved")
    w.rest.call("rename-model", {"name": old, "new_name": new})
    return f"rename {old!r} to {new!r}"


def mv_delete_model(w: World) -> str:
    p = w.pick()
    name = w.rng.choice([w.spelled(p.name), p.name, _spare(w), f"{_ledger(p)}1"])
    w.rest.call("delete-model", {"name": name})
    return f"delete registered model {name!r}"


def mv_create_model(w: World) -> str:
    p = w.pick()
    name = w.rng.choice([w.fresh("spare"), spell_name(w.rng, p.name), f"{_ledger(p)}{w.rng.randint(1, 9)}"])
    tags = [{"key": "mlflow.prompt.is_prompt", "value": "true"}] if w.rng.random() < 0.2 else []
    if w.rest.call("create-model", {"name": name, "tags": tags}).ok:
        w.spare.append(name)
    return f"create registered model {name!r} with tags {tags}"


def disguise(donor: dict[str, Any]) -> dict[str, str]:
    """Tags that make a model version read as a prompt whose subject is the donor's (attack 3)."""
    return {
        **tags_of(donor),
        "mlflow.prompt.is_prompt": "true",
        "mlflow.prompt.text": str(donor.get("source", "")),
        T.SOURCE_RUN: str(donor.get("run_id", "")),
    }


def _create_version(w: World, name: str, donor: dict[str, Any] | None) -> str | None:
    """Create a version of ``name`` serving the attacker's files (or the donor's source) with copied tags."""
    tags = {k: v for k, v in tags_of(donor).items() if w.rng.random() < 0.8}
    params: dict[str, Any] = {"name": name, "source": w.evil.source, "run_id": w.evil.run_id}
    r = w.rng.random()
    if r < 0.35:
        params = {"name": name, "source": f"models:/{w.evil.model_id}", "model_id": w.evil.model_id}
    elif r < 0.5 and donor:
        params = {"name": name, "source": donor["source"], "run_id": w.evil.run_id}
    elif r < 0.6:
        params = {"name": name, "source": "dummy-source"}
        tags |= {"mlflow.prompt.is_prompt": "true", "mlflow.prompt.text": "EVIL {{input}}"}
    params["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    resp = w.rest.call("create-version", params)
    if not resp.ok:
        return None
    version = str(resp.json()["model_version"]["version"])
    w.made.setdefault(name, []).append(version)
    return version


def mv_create_version(w: World) -> str:
    p = w.pick()
    name = p.name if w.rng.random() < 0.75 else _spare(w)
    version = _create_version(w, name, _champion(w, p))
    return f"create version of {name!r} with the attacker's source and copied tags -> {version}"


def mv_disguise(w: World) -> str:
    """Tag a version as a prompt whose text and run are the champion's source and run, then promote it."""
    p = w.pick("model")
    donor = _champion(w, p)
    if donor is None:
        return f"{p.name!r} has no champion to copy"
    version = w.rng.choice(w.made.get(p.name) or [str(donor["version"])])
    for key, value in disguise(donor).items():
        w.rest.call("set-version-tag", {"name": p.name, "version": version, "key": key, "value": value})
    w.rest.call("set-alias", {"name": p.name, "alias": CHAMPION, "version": version})
    return (
        f"disguise v{version} of {p.name!r} as a prompt with v{donor['version']}'s subject, point @champion"
    )


def mv_recreate(w: World) -> str:
    """Free the name (detach the champion first, now and then), re-create it up to the donor's number."""
    p = w.pick("model")
    donor = _champion(w, p)
    if donor is None:
        return f"{p.name!r} has no champion to copy"
    number = int(donor["version"])
    if w.rng.random() < 0.5:  # detach the champion the way attack 1 does
        w.rest.call("delete-version", {"name": p.name, "version": _spell(w, str(number))[1]})
    freed = (
        w.rest.call("delete-model", {"name": w.spelled(p.name)})
        if w.rng.random() < 0.5
        else w.rest.call("rename-model", {"name": w.spelled(p.name), "new_name": w.fresh("old")})
    )
    if not freed.ok or not w.rest.call("create-model", {"name": p.name}, exact=True).ok:
        return f"re-create {p.name!r}: could not free the name"
    w.made[p.name] = []
    versions = [_create_version(w, p.name, donor) for _ in range(number)]
    if versions[-1] != str(number):
        return f"re-create {p.name!r}: versions {versions}, not up to v{number}"
    for key, value in disguise(donor).items():
        w.rest.call("set-version-tag", {"name": p.name, "version": str(number), "key": key, "value": value})
    w.rest.call("set-alias", {"name": p.name, "alias": CHAMPION, "version": str(number)})
    if p.staged:
        params = {
            "name": p.name,
            "version": str(number),
            "stage": PRODUCTION,
            "archive_existing_versions": True,
        }
        w.rest.call("transition-stage", params)
    return f"re-create {p.name!r} with a disguised v{number} carrying the old champion's tags"


TAG_KEYS = [
    "mlflow.prompt.text",
    "mlflow.prompt.is_prompt",
    "_mlflow_prompt_type",
    T.DECISION,
    T.DECISION_SHA,
    T.DECISION_HMAC,
    T.MODEL_SHA,
    T.TIER,
    T.SOURCE_RUN,
    T.PROMOTION,
    T.CANDIDATE_KIND,
    "note",
]


def mv_version_tag(w: World) -> str:
    p = w.pick()
    version, key = _target(w, p), w.rng.choice(TAG_KEYS)
    how, spelled = _spell(w, version)
    if w.rng.random() < 0.3:
        w.rest.call("delete-version-tag", {"name": w.spelled(p.name), "version": spelled, "key": key})
        return f"delete tag {key!r} of v{version} ({how}) of {p.name!r}"
    other = tags_of(_champion(w, w.pick())).get(key, "")
    value = w.rng.choice(["EVIL {{input}}", "true", "", "pass", "chat", "int8", other])
    w.rest.call(
        "set-version-tag", {"name": w.spelled(p.name), "version": spelled, "key": key, "value": value}
    )
    return f"set tag {key!r}={value[:40]!r} on v{version} ({how}) of {p.name!r}"


def mv_model_tag(w: World) -> str:
    p = w.pick()
    key = w.rng.choice(["mlflow.prompt.is_prompt", T.LEDGER, T.DECISION, "note"])
    if w.rng.random() < 0.4:
        w.rest.call("delete-model-tag", {"name": w.spelled(p.name), "key": key})
        return f"delete registered-model tag {key!r} of {p.name!r}"
    value = w.rng.choice(["true", "false", "1", ""])
    w.rest.call("set-model-tag", {"name": w.spelled(p.name), "key": key, "value": value})
    return f"set registered-model tag {key!r}={value!r} on {p.name!r}"


def mv_describe(w: World) -> str:
    p = w.pick()
    if w.rng.random() < 0.5:
        w.rest.call("update-model", {"name": w.spelled(p.name), "description": "EVIL"})
        return f"update the description of {p.name!r}"
    version = _target(w, p)
    w.rest.call("update-version", {"name": p.name, "version": _spell(w, version)[1], "description": "EVIL"})
    return f"update the description of v{version} of {p.name!r}"


def _files_of(w: World, p: Protected) -> tuple[str | None, str | None]:
    """(mlflow-artifacts path behind ``p``'s champion, that version's run id)."""
    champion = _champion(w, p)
    if champion is None:
        return None, None
    uri = read(w.url, "download-uri", {"name": p.name, "version": str(champion["version"])})
    return artifact_path(uri.get("artifact_uri", "")), champion.get("run_id")


def mv_upload(w: World) -> str:
    p = w.pick("model")
    where, run_id = _files_of(w, p)
    if w.rng.random() < 0.25 and run_id:
        w.rest.ui_upload(run_id, f"model/{EVIL_FILE}", b"evil")
        return f"UI upload of {EVIL_FILE} into the champion's run {run_id}"
    if where is None:
        return f"{p.name!r}: the champion's files are not behind the artifact proxy"
    name = w.rng.choice([EVIL_FILE, "weights.bin", "config.json"])
    if w.rng.random() < 0.3:
        w.rest.multipart_upload(where, name, b"evil bytes")
        return f"multipart upload of {name} into the champion's files of {p.name!r}"
    w.rest.upload(f"{where}/{name}", b"evil bytes")
    return f"PUT {name} into the champion's files of {p.name!r}"


def mv_delete_artifact(w: World) -> str:
    p = w.pick("model")
    where, _ = _files_of(w, p)
    if where is None:
        return f"{p.name!r}: the champion's files are not behind the artifact proxy"
    w.rest.delete_artifact(f"{where}/{w.rng.choice(['weights.bin', 'model_card.md'])}")
    return f"DELETE a file of the champion of {p.name!r}"


def mv_hijack(w: World) -> str:
    """Point a passing run's candidate at the attacker's logged model; drop its unprotected challenger."""
    p = w.pick("model")
    runs = w.pending.get(p.name) or list(p.runs)
    run_id = w.rng.choice(runs)
    w.rest.call("set-run-tag", {"run_id": run_id, "key": T.CANDIDATE_MODEL_ID, "value": w.evil.model_id})
    challenger = alias_version(w.url, p.name, "challenger")
    if challenger and w.rng.random() < 0.7:
        w.rest.call("delete-version", {"name": p.name, "version": _spell(w, str(challenger["version"]))[1]})
    if run_id not in w.pending.get(p.name, []):
        w.pending.setdefault(p.name, []).append(run_id)  # the key holder may promote it again
    return f"hijack run {run_id}'s candidate of {p.name!r}"


def mv_tamper_pending(w: World) -> str:
    """Change a passing run's candidate (files or ``prompt/prompt.json``) before it is promoted."""
    p = w.pick()
    run_id = (w.pending.get(p.name) or [new_candidate(w, p)])[-1]
    run = w.client.get_run(run_id)
    if p.kind == "prompt":
        where = artifact_path(run.info.artifact_uri)
        target, data = f"{where}/prompt/prompt.json", b'{"template": "EVIL {{input}}"}'
    else:
        model_id = run.data.tags.get(T.CANDIDATE_MODEL_ID, "")
        where = artifact_path(w.client.get_logged_model(model_id).artifact_location)
        target, data = f"{where}/{EVIL_FILE}", b"evil"
    if where is None:
        return f"run {run_id}'s candidate is not behind the artifact proxy"
    w.rest.upload(target, data)
    return f"PUT {target.rsplit('/', 1)[-1]} into passing run {run_id}'s candidate before promotion"


def mv_forge_ledger(w: World) -> str:
    p = w.pick()
    prefix = _ledger(p)
    found = read(w.url, "search-models", {"filter": f"name LIKE '{prefix}%'", "max_results": "100"})
    names = [m["name"] for m in found.get("registered_models", [])]
    numbers = [
        int(n[len(prefix) :]) for n in names if n[len(prefix) :].isdecimal() and n[len(prefix) :].isascii()
    ]
    if names and w.rng.random() < 0.25:
        victim = w.rng.choice(names)
        w.rest.call("delete-model", {"name": victim})
        return f"delete ledger entry {victim!r}"
    nxt = max(numbers, default=0) + 1
    suffix = w.rng.choice(
        [str(nxt), str(nxt + w.rng.randint(1, 40)), "²", "٣", f"0{nxt}", "1e3", "-1", "1_0"]
    )
    tags = {
        T.LEDGER: "1",
        "model": p.name,
        "alias": CHAMPION,
        "from": "none",
        "to": str(w.rng.randint(1, 99)),
    }
    listed = [{"key": k, "value": v} for k, v in tags.items()] if w.rng.random() < 0.8 else []
    w.rest.call("create-model", {"name": prefix + suffix, "tags": listed})
    return f"forge ledger entry {prefix + suffix!r}"


def mv_delete_lineage(w: World) -> str:
    """Delete the run or the logged model behind the champion."""
    p = w.pick("model")
    champion = _champion(w, p)
    if champion is None:
        return f"{p.name!r} has no champion"
    source = str(champion.get("source", ""))
    if source.startswith("models:/m-") and w.rng.random() < 0.5:
        w.rest.request("DELETE", f"/api/2.0/mlflow/logged-models/{source[len('models:/') :]}")
        return f"delete the logged model behind the champion of {p.name!r}"
    w.rest.call("delete-run", {"run_id": champion.get("run_id", "")})
    return f"delete the champion's run of {p.name!r}"


def mv_read(w: World) -> str:
    p = w.pick()
    endpoint, params = w.rng.choice(
        [
            ("get-model", {"name": p.name}),
            ("search-models", {"filter": f"name = '{p.name}'"}),
            ("get-alias", {"name": p.name, "alias": CHAMPION}),
            ("get-version", {"name": p.name, "version": "1"}),
            ("latest-versions", {"name": p.name, "stages": [PRODUCTION]}),
            ("search-versions", {"filter": f"name = '{p.name}'"}),
            ("download-uri", {"name": p.name, "version": "1"}),
        ]
    )
    w.rest.call(endpoint, params)
    return f"read {endpoint} of {p.name!r}"


MOVES: list[tuple[int, Callable[[World], str]]] = [
    (6, mv_delete_version),
    (2, mv_delete_alias),
    (3, mv_point_alias),
    (3, mv_stage),
    (2, mv_rename),
    (2, mv_delete_model),
    (2, mv_create_model),
    (4, mv_create_version),
    (2, mv_disguise),
    (2, mv_recreate),
    (5, mv_version_tag),
    (2, mv_model_tag),
    (1, mv_describe),
    (2, mv_upload),
    (1, mv_delete_artifact),
    (2, mv_hijack),
    (1, mv_tamper_pending),
    (3, mv_forge_ledger),
    (1, mv_delete_lineage),
    (1, mv_read),
    (2, kh_new_run),
    (2, kh_register),
    (2, kh_champion),
    (3, kh_promote),
]


@dataclass
class Finding:
    """The first state of a sequence that broke the invariant, with the trail that led there."""

    seed: int
    step: str
    problems: list[str]
    trail: list[str]

    def __str__(self) -> str:
        lines = "\n    ".join(self.trail[-40:])
        return f"seed {self.seed}, {self.step}:\n  " + "\n  ".join(self.problems) + f"\n  trail:\n    {lines}"


def setup_world(url: str, client: MlflowClient, root: Path, evil: Evil, counts: Counts, seed: int) -> World:
    """Three protected names, promoted by the key holder: a model, a staged model and a prompt."""
    rng = random.Random(seed)
    w = World(url, client, Rest(url, counts, rng), rng, root, evil, f"atk{uuid.uuid4().hex[:6]}-{seed}")
    for what, kind, staged in (
        ("model", "model", False),
        ("staged", "model", True),
        ("prompt", "prompt", False),
    ):
        p = Protected(w.fresh(what), kind, staged=staged)
        w.protected.append(p)
        run_id = new_candidate(w, p)
        w.pending[p.name].remove(run_id)
        p.oracle.add(p.runs[run_id])
        version = register_candidate(client, p.name, run_id, kind=kind)
        move_champion(client, p.name, kind=kind, version=version, stage=staged)
    return w


def final_promotion(w: World) -> list[str]:
    """The key holder promotes fresh content everywhere; it must work and be what production serves."""
    problems = []
    for p in w.protected:
        run_id = new_candidate(w, p)
        try:
            version = register_candidate(w.client, p.name, run_id, kind=p.kind)
            move_champion(w.client, p.name, kind=p.kind, version=version, stage=p.staged)
        except Exception as exc:  # noqa: BLE001 - a key holder who cannot promote is the finding
            p.oracle.add(p.runs[run_id])
            problems.append(
                f"the key holder cannot promote fresh content of {p.name!r}: {type(exc).__name__}: {exc}"
            )
        else:
            p.oracle = {p.runs[run_id]}  # production must now serve exactly the fresh content
    return problems + violations(w.url, w.protected)


def run_sequence(
    url: str, client: MlflowClient, root: Path, evil: Evil, counts: Counts, seed: int, steps: int
) -> Finding | None:
    """One seeded sequence of ``steps`` moves; the first broken invariant ends it."""
    w = setup_world(url, client, root, evil, counts, seed)
    counts.sequences += 1
    problems = violations(url, w.protected)
    assert not problems, f"harness: the invariant fails right after set-up: {problems}"
    weights, moves = zip(*MOVES, strict=True)
    for step in range(steps):
        move = w.rng.choices(moves, weights=weights)[0]
        trail_at = len(w.rest.log)
        what = move(w)
        w.rest.log.insert(trail_at, f"# step {step}: {what}")  # before the requests it made
        counts.steps += 1
        problems = violations(url, w.protected)
        if problems:
            return Finding(seed, f"step {step} ({move.__name__})", problems, w.rest.log)
    problems = final_promotion(w)
    return Finding(seed, "the final key-holder promotion", problems, w.rest.log) if problems else None
