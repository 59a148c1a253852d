"""Randomized attacks on the guard: production only ever serves content the key holder signed.

Two parties play against a real ``mlflow server --app-name ftlineage-guard`` (``guard_server``:
sqlite by default, PostgreSQL + S3 under ``-m stack``). The key holder logs gate-passed runs and
promotes them (``_attack.py``, the only code that signs); the attacker, with tracking access and no
key, sends raw REST calls drawn from every registry endpoint, method, prefix, body encoding and
identifier spelling, plus run-tag, ledger and artifact-proxy writes. After every move the
invariant loads what production loads (``models:/<name>@champion``, ``models:/<name>/Production``,
``prompts:/<name>@champion``) and compares it with the oracle: the contents the key holder
promoted for that name. A sequence ends with a key-holder promotion of fresh content, which must
still work (no denial of service through forged ledger entries or tags).

The sequences are an explicit loop over ``random.Random(seed)`` rather than a hypothesis state
machine: each one costs seconds against a real server whose state persists between examples, so
shrinking would replay little and cost much. A failure names its seed and prints the whole trail of
moves and server answers instead. The short profile runs with the default test run; the long one
is marked ``slow``. Known attacks also have plain regression tests at the end of this file.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils

from ftlineage import tags as T
from ftlineage.errors import PromotionRefused
from ftlineage.gate import promotion
from ftlineage.tracking import MlflowRegistry
from tests.mlflow_plugins._attack import (
    CHAMPION,
    EVIL_FILE,
    KEY,
    PRODUCTION,
    VERSION_SPELLINGS,
    Counts,
    Protected,
    Rest,
    alias_version,
    artifact_path,
    content_sha256,
    load_served,
    log_passing_run,
    model_folder,
    move_champion,
    promote_signed_model,
    promote_signed_prompt,
    read,
    register_candidate,
    tags_of,
    version_record,
    violations,
)
from tests.mlflow_plugins._attack_moves import Evil, disguise, run_sequence

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Profile:
    """How much to try: sequences of ``steps`` moves, the first seeded with ``seed``."""

    sequences: int
    steps: int
    seed: int


SHORT = Profile(sequences=4, steps=15, seed=20261206)
LONG = Profile(sequences=40, steps=30, seed=1206)


@pytest.fixture
def tracking(guard_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The guarded server as this process's tracking and registry URI (``load_prompt`` reads them)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", guard_server)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    monkeypatch.setattr(tracking_utils, "_tracking_uri", guard_server)
    monkeypatch.setattr(registry_utils, "_registry_uri", guard_server)
    return guard_server


def report(request: pytest.FixtureRequest, line: str) -> None:
    """Show ``line`` on the terminal even while output is captured (and record it on the test)."""
    request.node.user_properties.append(("attack_suite", line))
    capman = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if capman is None or reporter is None:
        print(line, file=sys.__stderr__)
        return
    with capman.global_and_fixture_disabled():
        reporter.write_line(line)


def campaign(url: str, root: Path, profile: Profile, request: pytest.FixtureRequest) -> None:
    """Run every sequence of ``profile``; report the counts; fail with each sequence's first finding."""
    client, counts, findings = MlflowClient(url), Counts(), []
    evil, started = Evil.make(client, root), time.monotonic()
    try:
        for i in range(profile.sequences):
            finding = run_sequence(url, client, root, evil, counts, profile.seed + i, profile.steps)
            if finding:
                findings.append(finding)
    finally:
        took = time.monotonic() - started
        report(request, f"{counts.line()}; {len(findings)} sequences broke the invariant; {took:.0f} s")
    assert not findings, f"{counts.line()}\n\n" + "\n\n".join(map(str, findings))


def test_random_attacks_never_change_what_production_serves(tracking, tmp_path, request):
    campaign(tracking, tmp_path, SHORT, request)


@pytest.mark.slow
def test_random_attacks_never_change_what_production_serves_long(tracking, tmp_path, request):
    campaign(tracking, tmp_path, LONG, request)


# ---------------------------------------------------------------------------------------------
# Regression tests: the attacks known to have worked, one by one.
# ---------------------------------------------------------------------------------------------


@dataclass
class Party:
    """The two parties of one regression test, on the guarded server."""

    url: str
    client: MlflowClient
    rest: Rest
    root: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    serial: int = 0
    _evil: Evil | None = None

    def name(self, what: str) -> str:
        """A registered-model name unique to this test."""
        self.serial += 1
        return f"reg{self.tag}-{what}{self.serial}"

    @property
    def evil(self) -> Evil:
        """The attacker's content, made on first use."""
        if self._evil is None:
            self._evil = Evil.make(self.client, self.root)
        return self._evil

    def promote(self, p: Protected, *, stage: bool | None = None) -> str:
        """The key holder promotes fresh content of ``p`` to @champion (and Production)."""
        staged = p.staged if stage is None else stage
        if p.kind == "prompt":
            template = f"{self.name('template')}: {{{{input}}}}"
            p.oracle.add(template)
            return promote_signed_prompt(self.client, p.name, template)
        folder = model_folder(self.root, self.name("weights"))
        p.oracle.add(content_sha256(folder))
        return promote_signed_model(self.client, p.name, folder, stage=staged)

    def protect(self, kind: str, *, staged: bool = False, versions: int = 1) -> Protected:
        """A protected name whose champion is its ``versions``-th promoted version."""
        p = Protected(self.name(kind), kind, staged=staged)
        for _ in range(versions):
            self.promote(p)
        return p

    def broken(self, p: Protected) -> list[str]:
        """The invariant's violations for ``p``, with the attacker's requests and answers."""
        problems = violations(self.url, [p])
        return [*problems, "requests:", *self.rest.log] if problems else []


@pytest.fixture
def party(tracking: str, tmp_path: Path) -> Party:
    client = MlflowClient(tracking)
    return Party(tracking, client, Rest(tracking, Counts()), tmp_path)


SPELLINGS = {  # the spellings ("01", " 2", "+2", "٢", "２", "2\n", "0_2"), of the champion's number
    "zero-padded": lambda v: "0" + v,
    "leading-space": lambda v: " " + v,
    "plus-sign": lambda v: "+" + v,
    "arabic-indic": VERSION_SPELLINGS["arabic-indic"],
    "fullwidth": VERSION_SPELLINGS["fullwidth"],
    "newline": lambda v: v + "\n",
    "underscore": lambda v: "0_" + v,
    "mixed": VERSION_SPELLINGS["mixed"],
}


@pytest.mark.parametrize("kind", ["model", "prompt"])
def test_the_champion_cannot_be_deleted_by_another_spelling_of_its_number(party, kind):
    """Attack 1: ``DELETE model-versions/delete`` with the champion's number spelled as int() reads it.

    The first champion is v2 (v1 is signed too); after a spelling gets through, the next one is
    tried on a fresh name whose champion is v1 (a deleted champion also blocks the key holder's
    ledger for a while, so the old name cannot simply be promoted again). Prefixes alternate.
    """
    p, got_through = party.protect(kind, versions=2), []
    for i, (how, spell) in enumerate(SPELLINGS.items()):
        version = str(alias_version(party.url, p.name)["version"])
        prefix = ("api", "ajax-api")[i % 2]
        params = {"name": p.name, "version": spell(version)}
        resp = party.rest.request("DELETE", f"/{prefix}/2.0/mlflow/model-versions/delete", json=params)
        if violations(party.url, [p]):
            got_through.append(
                f"{how} {spell(version)!r} via /{prefix}: {resp.status_code} {resp.text[:80]!r}"
            )
            p = party.protect(kind)
    assert not got_through, f"the {kind} champion was deleted by: " + "; ".join(got_through)


PROMPT_EDITS = [
    ("set", "mlflow.prompt.text", "EVIL {{input}}", "plain"),
    ("set", "mlflow.prompt.text", "EVIL {{input}}", "arabic-indic"),
    ("set", "_mlflow_prompt_type", "chat", "plain"),
    ("delete", "mlflow.prompt.text", None, "plain"),
    ("delete", "mlflow.prompt.is_prompt", None, "zero-padded"),
]


@pytest.mark.parametrize(("op", "key", "value", "how"), PROMPT_EDITS)
def test_the_champion_prompt_cannot_be_rewritten_through_its_tags(party, op, key, value, how):
    """Attack 2: after signing, the template (and whether it loads) lives in writable version tags."""
    p = party.protect("prompt")
    spelled = VERSION_SPELLINGS[how](str(alias_version(party.url, p.name)["version"]))
    if op == "set":
        party.rest.call("set-version-tag", {"name": p.name, "version": spelled, "key": key, "value": value})
    else:
        party.rest.call("delete-version-tag", {"name": p.name, "version": spelled, "key": key})
    assert not party.broken(p), "\n".join(party.broken(p))


@pytest.mark.parametrize("free", ["delete", "rename"])
@pytest.mark.parametrize("target", ["alias", "stage"])
def test_a_version_disguised_as_a_prompt_cannot_borrow_a_signed_subject(party, free, target):
    """Attack 3: re-create the name, copy a signed version's tags and add prompt tags naming its subject.

    The key holder has registered (signed) v1 as @challenger and not moved the champion yet, so
    nothing protected holds the name and freeing it is allowed. The attacker's v1 serves
    ``EVIL_WEIGHTS.txt``; tagged ``mlflow.prompt.is_prompt=true`` with the donor's source as its
    "template" and the donor's run as ``ftlineage.source_run``, it must still not be promotable.
    """
    name = party.name("disguise")
    folder = model_folder(party.root, name)
    p = Protected(name, "model", staged=target == "stage", oracle={content_sha256(folder)}, required=False)
    donor = version_record(
        party.url, name, register_candidate(party.client, name, log_passing_run(party.client, folder))
    )
    assert donor is not None, "harness: the key holder registered nothing"
    assert tags_of(donor).get(T.DECISION_HMAC), "harness: the donor is not signed"
    if free == "delete":
        party.rest.call("delete-model", {"name": name})
    else:
        party.rest.call("rename-model", {"name": name, "new_name": f"{name}-old"})
    party.rest.call("create-model", {"name": name})
    tags = [{"key": k, "value": v} for k, v in tags_of(donor).items()]
    params = {"name": name, "source": party.evil.source, "run_id": party.evil.run_id, "tags": tags}
    created = party.rest.call("create-version", params)
    if created.ok:
        assert created.json()["model_version"]["version"] == donor["version"], (
            "harness: not the donor's number"
        )
        for key, value in disguise(donor).items():
            party.rest.call(
                "set-version-tag", {"name": name, "version": donor["version"], "key": key, "value": value}
            )
    if target == "alias":
        party.rest.call("set-alias", {"name": name, "alias": CHAMPION, "version": donor["version"]})
    else:
        params = {
            "name": name,
            "version": donor["version"],
            "stage": PRODUCTION,
            "archive_existing_versions": True,
        }
        party.rest.call("transition-stage", params)
    assert not party.broken(p), "\n".join(party.broken(p))


def _signed_versions(url: str, name: str) -> list[dict[str, Any]]:
    found = read(url, "search-versions", {"filter": f"name = '{name}'"}).get("model_versions", [])
    return [v for v in found if tags_of(v).get(T.DECISION_HMAC)]


@pytest.mark.parametrize("when", ["before-the-first-promote", "after-deleting-the-challenger"])
def test_a_rewritten_candidate_tag_is_never_signed(party, when):
    """Attack 4: the run's ``ftlineage.candidate_model_id`` now names the attacker's logged model."""
    name = party.name("hijack")
    folder = model_folder(party.root, name)
    legit, run_id = content_sha256(folder), log_passing_run(party.client, folder)
    registry = MlflowRegistry(party.client)
    if when == "after-deleting-the-challenger":
        first = promotion.register_run(registry, run_id, name=name, alias="challenger", key=KEY)
    party.rest.call(
        "set-run-tag", {"run_id": run_id, "key": T.CANDIDATE_MODEL_ID, "value": party.evil.model_id}
    )
    if when == "after-deleting-the-challenger":
        party.rest.call("delete-version", {"name": name, "version": first})  # @challenger is not protected
    try:
        promotion.register_run(registry, run_id, name=name, alias="challenger", key=KEY)
    except (PromotionRefused, MlflowException):
        pass  # refusing is right; what matters is what got signed
    for version in _signed_versions(party.url, name):
        served, files = load_served(party.url, f"models:/{name}/{version['version']}")
        where = f"v{version['version']} of {name!r} is signed but serves {files}; requests: {party.rest.log}"
        assert EVIL_FILE not in files, where
        assert served == legit, where


def test_files_added_to_a_passing_candidate_before_promotion_are_never_served(party):
    """The gate judged the files the job logged; an upload into the candidate afterwards must not ship."""
    name = party.name("tampered")
    folder = model_folder(party.root, name)
    p = Protected(name, "model", oracle={content_sha256(folder)}, required=False)
    run_id = log_passing_run(party.client, folder)
    model_id = party.client.get_run(run_id).data.tags[T.CANDIDATE_MODEL_ID]
    where = artifact_path(party.client.get_logged_model(model_id).artifact_location)
    if where is None:
        pytest.skip("the candidate's files are not behind the artifact proxy")
    party.rest.upload(f"{where}/{EVIL_FILE}", b"evil bytes")
    try:
        move_champion(party.client, name, version=register_candidate(party.client, name, run_id))
    except (PromotionRefused, MlflowException):
        pass  # refusing is right
    assert not party.broken(p), "\n".join(party.broken(p))


@pytest.mark.parametrize("how", ["archived", "staging", "none", "delete-after-the-alias-moved"])
def test_production_cannot_be_emptied_without_evidence(party, how):
    """Attack 5a: nothing may leave Production unless a version with evidence replaces it."""
    p = party.protect("model", staged=True)
    held = str(alias_version(party.url, p.name)["version"])
    if how == "delete-after-the-alias-moved":
        party.promote(p, stage=False)  # @champion moves on; Production still serves v1
        party.rest.call("delete-version", {"name": p.name, "version": held})
    else:
        stage = {"archived": "Archived", "staging": "Staging", "none": "None"}[how]
        params = {"name": p.name, "version": held, "stage": stage, "archive_existing_versions": False}
        party.rest.call("transition-stage", params)
    assert not party.broken(p), "\n".join(party.broken(p))


IN_FLIGHT = {T.LEDGER: "1", "from": "1", "to": "99"}
LEDGER_FORGERIES = {  # suffix after "ftlineage-ledger.<name>.champion." (the next entry is 2), and tags
    "superscript-two": ("²", IN_FLIGHT),
    "arabic-indic-three": ("٣", IN_FLIGHT),
    "next-in-flight": ("2", IN_FLIGHT),
    "next-without-tags": ("2", {}),
    "far-future-in-flight": ("42", IN_FLIGHT),
    "zero-padded-next": ("02", IN_FLIGHT),
    # search_registered_models leaves out anything tagged as a prompt, so the ledger looks shorter
    "next-hidden-as-a-prompt": ("2", {"mlflow.prompt.is_prompt": "true"}),
}


@pytest.mark.parametrize("kind", ["model", "prompt"])
@pytest.mark.parametrize("forgery", list(LEDGER_FORGERIES))
def test_forged_ledger_entries_do_not_block_the_next_promotion(party, kind, forgery):
    """Attack 5b: anyone can create registered models named like ledger entries."""
    p = party.protect(kind)
    suffix, tags = LEDGER_FORGERIES[forgery]
    name = f"{promotion.LEDGER}.{p.name}.{CHAMPION}.{suffix}"
    listed = [{"key": k, "value": v} for k, v in tags.items()]
    forged = party.rest.call("create-model", {"name": name, "tags": listed})  # refusing it is fine too
    try:
        party.promote(p)
    except Exception as exc:  # noqa: BLE001 - the finding is that the key holder is blocked
        pytest.fail(
            f"after forging ledger entry {name!r} (answered {forged.status_code}), the key holder cannot "
            f"promote: {type(exc).__name__}: {exc}"
        )
    assert not party.broken(p), "\n".join(party.broken(p))


def test_pointing_the_champion_back_at_an_older_signed_version_does_not_block_the_next_promotion(party):
    """Anyone may move @champion to any signed version; the ledger must not then lock the key holder out."""
    p = party.protect("model", versions=2)
    party.rest.call("set-alias", {"name": p.name, "alias": CHAMPION, "version": "1"})  # or refused
    assert not party.broken(p), "\n".join(party.broken(p))
    try:
        party.promote(p)
    except Exception as exc:  # noqa: BLE001 - the finding is that the key holder is blocked
        pytest.fail(
            f"after @champion was pointed back at v1, the key holder cannot promote: "
            f"{type(exc).__name__}: {exc}"
        )
    assert not party.broken(p), "\n".join(party.broken(p))


@pytest.mark.parametrize("op", ["set", "delete"])
def test_tag_edits_on_protected_versions_leave_production_served_and_promotable(party, op):
    """Attack 5c: every ``mlflow.*`` / ``ftlineage.*`` tag (and ``ftlineage.tier``) of the champion."""
    p = party.protect("model", staged=True)
    champion = alias_version(party.url, p.name)
    keys = sorted({k for k in tags_of(champion) if k.startswith(("mlflow.", "ftlineage."))} | {T.TIER})
    broke = []
    for key in keys:
        if op == "set":
            params = {"name": p.name, "version": champion["version"], "key": key, "value": "tampered"}
            party.rest.call("set-version-tag", params)
        else:
            party.rest.call(
                "delete-version-tag", {"name": p.name, "version": champion["version"], "key": key}
            )
        broke += [f"after {op} {key!r}: {problem}" for problem in violations(party.url, [p])]
    try:
        party.promote(p)
    except Exception as exc:  # noqa: BLE001 - the finding is that the key holder is blocked
        broke.append(f"then the key holder cannot promote: {type(exc).__name__}: {exc}")
    assert not broke, "\n".join([*broke, "requests:", *party.rest.log])


@pytest.mark.parametrize(
    ("kind", "op", "value"),
    [
        ("model", "set", "true"),
        ("model", "set", "false"),
        ("prompt", "delete", None),
        ("prompt", "set", "false"),
    ],
)
def test_registered_model_tags_do_not_change_what_production_loads(party, kind, op, value):
    """A registered model tagged ``mlflow.prompt.is_prompt`` (or a prompt untagged) stops loading."""
    p = party.protect(kind)
    if op == "set":
        party.rest.call("set-model-tag", {"name": p.name, "key": "mlflow.prompt.is_prompt", "value": value})
    else:
        party.rest.call("delete-model-tag", {"name": p.name, "key": "mlflow.prompt.is_prompt"})
    assert not party.broken(p), "\n".join(party.broken(p))


@pytest.mark.parametrize("how", ["add-evil", "overwrite", "delete", "multipart-add-evil"])
def test_champion_files_cannot_be_changed_through_the_artifact_proxy(party, how):
    """``/api/2.0/mlflow-artifacts/artifacts/<path>`` (and ``mpu/…``) write into the champion's own files."""
    p = party.protect("model")
    uri = read(
        party.url,
        "download-uri",
        {"name": p.name, "version": str(alias_version(party.url, p.name)["version"])},
    )
    where = artifact_path(uri.get("artifact_uri", ""))
    if where is None:
        pytest.skip(f"the champion's files are not behind the artifact proxy: {uri}")
    if how == "delete":
        party.rest.delete_artifact(f"{where}/weights.bin")
    elif how == "multipart-add-evil":  # only S3-like stores support it; elsewhere it is refused
        party.rest.multipart_upload(where, EVIL_FILE, b"evil bytes")
    else:
        party.rest.upload(f"{where}/{EVIL_FILE if how == 'add-evil' else 'weights.bin'}", b"evil bytes")
    assert not party.broken(p), "\n".join(party.broken(p))
