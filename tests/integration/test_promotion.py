"""Promotion through the registry: races, guard refusals, crashes, and ``promote RUN_ID``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.cli import main
from ftlineage.errors import PromotionConflict
from ftlineage.gate import GateDecision
from ftlineage.gate import promotion as _promote
from ftlineage.gate.evidence import verify
from ftlineage.gate.promotion import half_promoted, move_alias
from ftlineage.tracking import MlflowRegistry
from tests.conftest import GUARD_KEY, PASS, signed_version

pytestmark = pytest.mark.integration


def _promote_cmd(
    url: str, name: str, version: str, key: bool = True, expect: str = "none"
) -> subprocess.Popen:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    env.pop("FTLINEAGE_GATE_KEY", None)
    if key:
        env["FTLINEAGE_GATE_KEY"] = GUARD_KEY
    cmd = [
        sys.executable,
        "-m",
        "ftlineage",
        "promote",
        "--model",
        name,
        "--to",
        "champion",
        "--version",
        version,
        "--expect-version",
        expect,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


RACERS = 8


def test_processes_racing_for_champion_end_with_one_winner(guard_server):
    """N separate ``ftlineage promote`` processes: one wins, the ledger holds one entry, no gap."""
    client = MlflowClient(guard_server)
    versions = [signed_version(client, "race") for _ in range(RACERS)]
    procs = {v: _promote_cmd(guard_server, "race", v) for v in versions}
    results = {v: (p.wait(timeout=300), p.communicate()[1]) for v, p in procs.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0] + [5] * (RACERS - 1), results
    winner = next(v for v, (code, _) in results.items() if code == 0)
    loser_err = next(err for code, err in results.values() if code == 5)
    assert "conflict" in loser_err or "got there first" in loser_err
    assert client.get_model_version_by_alias("race", "champion").version == winner
    registry = MlflowRegistry(client)
    prefix = "ftlineage-ledger.race.champion."
    entries = sorted(registry.claims(prefix))
    assert entries == [f"{prefix}1"], entries  # exactly one move recorded: no duplicate, no gap
    tags, _ = registry.claimed(entries[0])
    assert (tags["from"], tags["to"]) == ("none", winner)
    # A stale expectation changes nothing; the next move on top of the winner appends entry 2.
    other = next(v for v in versions if v != winner)
    assert _promote_cmd(guard_server, "race", other).wait(timeout=120) == 5
    assert sorted(registry.claims(prefix)) == [f"{prefix}1"]
    assert _promote_cmd(guard_server, "race", other, expect=winner).wait(timeout=120) == 0
    assert sorted(registry.claims(prefix)) == [f"{prefix}1", f"{prefix}2"]
    assert registry.claimed(f"{prefix}2")[0]["from"] == winner


def test_a_stale_read_loses_at_the_ledger(guard_server, monkeypatch):
    """Two promotions that both read the ledger before either wrote: the second gets a conflict."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", guard_server)
    client = MlflowClient(guard_server)
    a, b = signed_version(client, "stale"), signed_version(client, "stale")
    key = GUARD_KEY.encode()
    move_alias(MlflowRegistry(client), "stale", "champion", a, key=key)
    monkeypatch.setattr(_promote, "_ledger_length", lambda *args: 0)  # what both read
    with pytest.raises(PromotionConflict, match=f"to v{a}"):
        move_alias(MlflowRegistry(client), "stale", "champion", b, key=key)
    assert client.get_model_version_by_alias("stale", "champion").version == a


def test_the_guard_refuses_promote_without_evidence(guard_server, capfd):
    client = MlflowClient(guard_server)
    v = signed_version(client, "unsigned", signed=False)
    proc = _promote_cmd(guard_server, "unsigned", v, key=False)  # no local check: the server decides
    code, err = proc.wait(timeout=120), proc.communicate()[1]
    assert code == 4, err
    assert "registry guard refused" in err
    assert "signed" in err  # the ledger entry or the evidence: a promoter without the key is refused
    # The refused move freed its ledger slot: a signed version can still be promoted.
    good = signed_version(client, "unsigned")
    assert _promote_cmd(guard_server, "unsigned", good).wait(timeout=120) == 0


def test_a_crash_between_registering_and_aliasing_is_detected_and_cleaned(store, monkeypatch, capsys):
    from ftlineage.gate.promotion import register

    client = MlflowClient()
    exp = client.create_experiment("crash")
    run = client.create_run(exp)
    uri = f"{run.info.artifact_uri}/model"

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("killed between create and alias")

    with monkeypatch.context() as patch:
        patch.setattr(client, "set_registered_model_alias", boom)
        with pytest.raises(KeyboardInterrupt):
            register(
                MlflowRegistry(client),
                name="hc",
                source=uri,
                run_id=run.info.run_id,
                tags={},
                description="",
                alias="challenger",
            )
    assert half_promoted(MlflowRegistry(client), "hc") == (["1"], [])
    assert main(["registry", "check", "hc"]) == 0
    assert "found half-promoted versions 1" in capsys.readouterr().out
    other = client.create_run(exp)
    ok = register(
        MlflowRegistry(client),
        name="hc",
        source=uri,
        run_id=other.info.run_id,
        tags={},
        description="",
        alias="challenger",
    )
    assert half_promoted(MlflowRegistry(client), "hc") == (
        ["1"],
        [],
    )  # a clean registration is never reported
    assert main(["registry", "check", "hc", "--clean"]) == 0
    assert [str(v.version) for v in client.search_model_versions("name='hc'")] == [ok]


def test_a_rerun_finishes_its_own_crashed_registration_instead_of_adding_one(store, monkeypatch):
    from ftlineage.gate.promotion import register

    client = MlflowClient()
    run = client.create_run(client.create_experiment("crash-rerun"))
    uri = f"{run.info.artifact_uri}/model"
    args = {"name": "hc2", "source": uri, "run_id": run.info.run_id, "tags": {}, "description": ""}
    with monkeypatch.context() as patch:
        patch.setattr(client, "set_registered_model_alias", _killed)
        with pytest.raises(KeyboardInterrupt):
            register(MlflowRegistry(client), alias="challenger", **args)
    assert register(MlflowRegistry(client), alias="challenger", **args) == "1"  # the same version, finished
    assert [str(v.version) for v in client.search_model_versions("name='hc2'")] == ["1"]
    assert half_promoted(MlflowRegistry(client), "hc2") == ([], [])


def test_a_crash_after_aliasing_is_repaired_never_deleted(store, monkeypatch, capsys):
    """kill -9 after the alias moved but before the done mark: --clean must not delete what serves."""
    from ftlineage.gate.promotion import register
    from ftlineage.tags import PROMOTION as PROMOTION_TAG

    client = MlflowClient()
    run = client.create_run(client.create_experiment("crash-after-alias"))
    real_tag = client.set_model_version_tag

    def tag_then_die(name, version, key, value):
        if key == PROMOTION_TAG and value == "done":
            raise KeyboardInterrupt("killed before the done mark")
        return real_tag(name, version, key, value)

    args = {"source": f"{run.info.artifact_uri}/model", "run_id": run.info.run_id, "tags": {}}
    with monkeypatch.context() as patch:
        patch.setattr(client, "set_model_version_tag", tag_then_die)
        with pytest.raises(KeyboardInterrupt):
            register(MlflowRegistry(client), name="hc3", description="", alias="challenger", **args)
    assert half_promoted(MlflowRegistry(client), "hc3") == ([], ["1"])
    assert main(["registry", "check", "hc3", "--clean"]) == 0
    assert "marked done" in capsys.readouterr().out
    mv = client.get_model_version_by_alias("hc3", "challenger")
    assert str(mv.version) == "1"
    assert mv.tags[PROMOTION_TAG] == "done"


def _killed(*args, **kwargs):
    raise KeyboardInterrupt("killed between create and alias")


def _job_like_run(
    client: MlflowClient,
    decision: GateDecision,
    tmp_path,
    *,
    key: bytes | None = None,
    name: str = "from-run",
) -> str:
    """A run as the main job leaves it: decision, card, the candidate as a logged model, its identity."""
    from ftlineage.gate.promotion import sign_candidate

    exp = client.get_experiment_by_name("job") or client.get_experiment(client.create_experiment("job"))
    run = client.create_run(
        exp.experiment_id,
        tags={"ftlineage.prompt_sha": "p" * 64, "ftlineage.registry.model_name": name},
    )
    (tmp_path / "decision.json").write_text(decision.model_dump_json())
    client.log_artifact(run.info.run_id, str(tmp_path / "decision.json"), "gate")
    _candidate_model(
        client, run.info.run_id, tmp_path / "model", {"weights.txt": f"weights {run.info.run_id}"}
    )
    if decision.decision == "pass":
        sign_candidate(MlflowRegistry(client), run.info.run_id, decision, key)
    return run.info.run_id


def _candidate_model(client: MlflowClient, run_id: str, folder, files: dict[str, str]) -> str:
    """Log ``files`` and a card as the run's candidate: run artifacts ``model/`` and a logged model."""
    from ftlineage import tags as T

    folder.mkdir(exist_ok=True)
    (folder / "model_card.md").write_text("# card\n")
    for fname, text in files.items():
        (folder / fname).write_text(text)
    client.log_artifacts(run_id, str(folder), "model")
    exp = client.get_run(run_id).info.experiment_id
    model = client.create_logged_model(exp, name="candidate", source_run_id=run_id)
    client.log_model_artifacts(model.model_id, str(folder))
    client.finalize_logged_model(model.model_id, "READY")
    client.set_tag(run_id, T.CANDIDATE_MODEL_ID, model.model_id)
    return model.model_id


def test_promote_run_registers_only_a_passing_run_and_is_idempotent(store, tmp_path, monkeypatch, capsys):
    from ftlineage.gate.evidence import verify

    monkeypatch.setenv("FTLINEAGE_GATE_KEY", GUARD_KEY)
    client = MlflowClient()
    blocked = PASS.model_copy(update={"decision": "blocked", "checks": ()})
    assert main(["promote", _job_like_run(client, blocked, tmp_path)]) == 4
    assert "blocked by the gate" in capsys.readouterr().err
    run_id = _job_like_run(client, PASS, tmp_path, key=GUARD_KEY.encode())
    assert main(["promote", run_id]) == 0
    assert main(["promote", run_id]) == 0  # idempotent: the same version
    (mv,) = client.search_model_versions("name='from-run'")
    assert mv.tags["ftlineage.prompt_sha"] == "p" * 64
    assert mv.tags["ftlineage.promotion"] == "done"
    assert mv.description == "# card\n"
    version = str(mv.version)
    subject, tags = _promote.subject_of(MlflowRegistry(client), "from-run", version)
    assert verify(tags, subject, GUARD_KEY.encode())[0]
    assert str(client.get_model_version_by_alias("from-run", "challenger").version) == version
    assert main(["promote", run_id, "--to", "champion", "--stages"]) == 0
    champ = client.get_model_version_by_alias("from-run", "champion")
    assert str(champ.version) == version
    assert champ.current_stage == "Production"
    ledger = client.get_registered_model("ftlineage-ledger.from-run.champion.1")
    assert ledger.tags["to"] == version
    assert ledger.tags["from"] == "none"


def test_without_key_or_guard_the_client_still_refuses_a_blocked_version(store, monkeypatch, capsys):
    monkeypatch.delenv("FTLINEAGE_GATE_KEY", raising=False)
    client = MlflowClient()
    refused = PASS.model_copy(update={"decision": "blocked"})
    blocked = signed_version(client, "nokey", signed=False, decision=refused)
    assert main(["promote", "--model", "nokey", "--to", "champion", "--version", blocked]) == 4
    assert "not 'pass'" in capsys.readouterr().err
    client.set_model_version_tag("nokey", blocked, "ftlineage.decision", "pass")  # relabelled
    assert main(["promote", "--model", "nokey", "--to", "champion", "--version", blocked]) == 4
    assert "not the passing decision it claims" in capsys.readouterr().err
    with pytest.raises(Exception, match="RESOURCE_DOES_NOT_EXIST|not found"):
        client.get_model_version_by_alias("nokey", "champion")
    good = signed_version(client, "nokey", signed=False)
    assert main(["promote", "--model", "nokey", "--to", "champion", "--version", good]) == 0
    assert str(client.get_model_version_by_alias("nokey", "champion").version) == good


def test_promote_asks_the_registry_not_the_run_tag(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FTLINEAGE_GATE_KEY", GUARD_KEY)
    client = MlflowClient()
    run_id = _job_like_run(client, PASS, tmp_path, key=GUARD_KEY.encode())
    assert main(["promote", run_id]) == 0
    client.delete_registered_model("from-run")  # the run still says "registered_version: 1"
    assert main(["promote", run_id]) == 0
    (mv,) = client.search_model_versions("name='from-run'")
    assert mv.run_id == run_id
    assert str(client.get_model_version_by_alias("from-run", "challenger").version) == str(mv.version)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["promote", "deadbeef"], "no run 'deadbeef'"),
        (["promote", "--model", "m", "--to", "champion", "--version", "abc"], "--version 'abc'"),
        (["promote", "--model", "m", "--to", "champion", "--version", "7"], "no version 7"),
    ],
)
def test_promote_mistakes_are_one_line_bad_input(store, argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("ftlineage:")]) == 1


def test_promote_of_a_blocked_run_with_no_decisive_arena_pair_is_exit_4(store, tmp_path, capsys):
    from ftlineage.gate.rule import Check

    nan = float("nan")
    arena = Check(name="arena", kind="arena", passed=False, interval=(nan, nan), reason="no decisive pair")
    blocked = GateDecision(decision="blocked", stage="gate", checks=(arena,), lineage={})
    run_id = _job_like_run(MlflowClient(), blocked, tmp_path)
    assert main(["promote", run_id]) == 4
    err = capsys.readouterr().err
    assert "blocked by the gate" in err
    assert "no decisive pair" in err


def _cli(url: str, *args: str) -> tuple[int, str]:
    """``ftlineage ARGS`` in its own process against ``url`` with the gate key: (exit code, stderr)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "FTLINEAGE_GATE_KEY": GUARD_KEY}
    done = subprocess.run(
        [sys.executable, "-m", "ftlineage", *args], env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stderr


def test_promote_run_and_champion_work_through_the_guarded_server(guard_server, tmp_path, monkeypatch):
    """Issue 37 item 6: a logged-model candidate registers through a tracking server (model_id sent)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", guard_server)
    client = MlflowClient(guard_server)
    name = f"served-{tmp_path.name}"[:60]
    run_id = _job_like_run(client, PASS, tmp_path, key=GUARD_KEY.encode(), name=name)
    code, err = _cli(guard_server, "promote", run_id)
    assert code == 0, err
    (mv,) = client.search_model_versions(f"name='{name}'")
    assert mv.source.startswith("models:/m-")
    code, err = _cli(guard_server, "promote", run_id, "--to", "champion")
    assert code == 0, err
    assert str(client.get_model_version_by_alias(name, "champion").version) == str(mv.version)


def test_a_hijacked_run_tag_is_never_signed(guard_server, tmp_path, monkeypatch):
    """Issue 37 item 4: the run's candidate tag pointed at another logged model after the decision."""
    from ftlineage import tags as T

    monkeypatch.setenv("MLFLOW_TRACKING_URI", guard_server)
    client = MlflowClient(guard_server)
    name = f"hijack-{tmp_path.name}"[:60]
    run_id = _job_like_run(client, PASS, tmp_path, key=GUARD_KEY.encode(), name=name)
    signed = client.get_run(run_id).data.tags[T.CANDIDATE_MODEL_ID]
    evil = _candidate_model(client, run_id, tmp_path / "evil", {"EVIL_WEIGHTS.txt": "evil"})
    client.set_tag(run_id, T.CANDIDATE_MODEL_ID, evil)  # tracking access is enough for this
    code, err = _cli(guard_server, "promote", run_id)
    assert code == 4, err
    assert "not the one its decision signed" in err
    assert client.search_model_versions(f"name='{name}'") == []
    # the tag put back: the candidate the decision signed registers (the check is not a blanket refusal)
    client.set_tag(run_id, T.CANDIDATE_MODEL_ID, signed)
    code, err = _cli(guard_server, "promote", run_id)
    assert code == 0, err
    (mv,) = client.search_model_versions(f"name='{name}'")
    assert mv.source == f"models:/{signed}"


@pytest.mark.parametrize("point", ["created", "signed", "aliased"])
def test_registration_killed_at_any_point_finishes_once_on_rerun(store, tmp_path, point, monkeypatch):
    """Issue 37 item 9: kill -9 inside registration, rerun: one version for the run, done, none pending."""
    monkeypatch.setenv("FTLINEAGE_GATE_KEY", GUARD_KEY)
    client = MlflowClient(store)
    run_id = _job_like_run(client, PASS, tmp_path, key=GUARD_KEY.encode())
    env = {**os.environ, "MLFLOW_TRACKING_URI": store, "FTLINEAGE_GATE_KEY": GUARD_KEY}
    script = str(Path(__file__).with_name("_kill_in_promote.py"))
    killed = subprocess.run(
        [sys.executable, script, point, run_id], env=env, capture_output=True, timeout=300
    )
    assert killed.returncode == -9, killed.stderr
    assert main(["promote", run_id]) == 0
    (mv,) = client.search_model_versions("name='from-run'")
    assert mv.tags["ftlineage.promotion"] == "done"
    assert str(client.get_model_version_by_alias("from-run", "challenger").version) == str(mv.version)
    assert half_promoted(MlflowRegistry(client), "from-run") == ([], [])
    subject, tags = _promote.subject_of(MlflowRegistry(client), "from-run", str(mv.version))
    assert verify(tags, subject, GUARD_KEY.encode())[0]
