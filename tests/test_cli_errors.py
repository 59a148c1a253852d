"""Every mistake at the command line is one line on stderr and exit 2: no traceback, ever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftlineage.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _one_line_exit_2(argv, capsys, pattern=None):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    ours = [line for line in err.splitlines() if line.startswith("ftlineage:")]
    assert len(ours) == 1, err
    if pattern:
        assert pattern in ours[0]
    return ours[0]


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["rnu"], "No such command 'rnu'. Did you mean 'run'?"),
        (["nosuchcmd"], "No such command 'nosuchcmd'"),
        (["run", "--bogus"], "No such option: --bogus"),
        (["run", "--suit", "x"], "(Possible options: --suite)"),
        (["audit"], "Missing argument 'corpus'"),
        (["canary", "replay", "x", "--split", "2"], "Invalid value for '--split'"),
        (["audit", "c.jsonl", "--label-sample", "-5"], "Invalid value for '--label-sample'"),
        (["promote", "--version"], "requires an argument"),
    ],
)
def test_usage_errors(argv, pattern, capsys):
    line = _one_line_exit_2(argv, capsys, pattern)
    assert "--help" in line


def test_version(capsys):
    from ftlineage import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ftlineage {__version__}"


def _scores(tmp_path):
    from ftlineage.arena import ArenaResult  # noqa: F401 - the files below are read as these models

    (tmp_path / "s.json").write_text(json.dumps({"suite_sha": "a" * 64, "model_label": "x", "metrics": {}}))
    return tmp_path / "s.json"


GATE = ["gate", "--candidate", "s.json", "--baseline", "s.json", "--arena", "a.json"]


@pytest.mark.parametrize(
    ("make", "argv", "pattern"),
    [
        (
            lambda d: None,
            [*GATE, "--rule", "nope.yaml"],
            "nope.yaml: cannot read the gate rule",
        ),
        (
            lambda d: (d / "r.yaml").write_text("gate: {max_regression: lots}"),
            [*GATE, "--rule", "r.yaml"],
            "r.yaml: not a gate rule (max_regression",
        ),
        (
            lambda d: (d / "r.yaml").write_text("a: &a [1]\nb: *a\n"),
            [*GATE, "--rule", "r.yaml"],
            "YAML aliases",
        ),
        (
            lambda d: None,
            [*GATE, "--out", "missing/dir/d.json"],
            "folder missing/dir does not exist",
        ),
        (
            lambda d: (d / "taken").write_text("x"),
            ["audit", "c.jsonl", "--out", "taken"],
            "is a file, not a folder",
        ),
        (
            lambda d: (d / "rel.csv").write_bytes(b"label,relabel\n\xff\xfe,a\n"),
            ["audit", "c.jsonl", "--relabels", "rel.csv"],
            "not UTF-8",
        ),
        (
            lambda d: (d / "bin.jsonl").write_bytes(bytes(range(256)) * 8),
            ["canary", "replay", "bin.jsonl"],
            "not UTF-8",
        ),
        (lambda d: (d / "r.yaml").write_bytes(b"name: \xff\n"), ["run", "--recipe", "r.yaml"], "not UTF-8"),
        (
            lambda d: (d / "c.parquet").write_bytes(b"PAR1 not really"),
            ["audit", "c.parquet"],
            "c.parquet: not a readable parquet file",
        ),
    ],
)
def test_bad_files_are_one_line_bad_input(tmp_path, monkeypatch, capsys, make, argv, pattern):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.jsonl").write_text('{"prompt": "p", "completion": "c"}\n')
    _scores(tmp_path)
    make(tmp_path)
    _one_line_exit_2(argv, capsys, pattern)


def test_a_row_nested_200000_deep_is_a_malformed_row_not_a_crash(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    deep = '{"prompt": ' + "[" * 200_000 + "]" * 200_000 + ', "completion": "x"}\n'
    (tmp_path / "c.jsonl").write_text('{"prompt": "p", "completion": "c"}\n' + deep)
    assert main(["audit", "c.jsonl", "--no-semantic", "--out", "o"]) == 0
    assert "1 malformed" in capsys.readouterr().out
    from ftlineage.data import read_corpus
    from ftlineage.errors import CorpusError

    with pytest.raises(CorpusError, match=r"c\.jsonl:2: invalid JSON \(nested too deeply"):
        read_corpus([tmp_path / "c.jsonl"])


def test_suite_list_shows_version_digest_and_counts(capsys):
    from ftlineage import suites

    assert main(["suite", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    s = suites.load("healthcare_v17")
    row = next(line for line in out if line.startswith("healthcare_v17"))
    assert row.split() == ["healthcare_v17", str(s.meta.version), s.sha[:12], *map(str, (160, 200, 320))]


def test_run_help_says_where_results_go_and_what_can_run(monkeypatch):
    import ftlineage.cli as cli

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///somewhere.db")
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", "my-work")
    epilog = cli._run_epilog()
    assert "sqlite:///somewhere.db" in epilog
    assert "my-work/<run id>/" in epilog
    assert "Bundled suites: general_v1, healthcare_v17, salon_booking_v3" in epilog


# -- Issue 37: bad input that crashed (exit 1 and a traceback) or created a run first -----------

RECIPE = 'name: r\nsuite: healthcare_v17\ncorpus: [c.jsonl]\nprompt_template: "Q: {prompt} A:"\n'
GOOD_ROW = '{"prompt": "p", "completion": "c"}\n'
SURROGATE_ROW = '{"prompt": "p\\ud800", "completion": "c"}\n'


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A private sqlite store, work dir and current folder; returns the database path."""
    db = tmp_path / "m.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.jsonl").write_text(GOOD_ROW)
    return db


def _runs(db: Path) -> int:
    import sqlite3

    if not db.is_file():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute("select count(*) from runs").fetchone()[0])
        except sqlite3.OperationalError:  # never initialized: no tables
            return 0


def test_a_lone_surrogate_row_is_malformed_and_the_audit_writes_all_its_outputs(store, capsys):
    Path("c.jsonl").write_text(SURROGATE_ROW + GOOD_ROW)
    assert main(["audit", "c.jsonl", "--no-semantic", "--out", "o"]) == 0
    out, err = capsys.readouterr()
    assert "1 malformed" in out
    assert "Traceback" not in err
    assert len(Path("o/clean.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    assert Path("o/report.html").is_file()


def test_an_audit_that_fails_while_writing_leaves_no_partial_outputs(store, monkeypatch, capsys):
    from ftlineage import audit as audit_pkg

    def half_written(result, out, **kwargs):
        (out / "clean.jsonl").write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_pkg, "write_outputs", half_written)
    _one_line_exit_2(["audit", "c.jsonl", "--no-semantic", "--out", "o"], capsys, "No space left")
    assert not Path("o").exists()
    assert not [p for p in Path(".").iterdir() if "partial" in p.name]


@pytest.mark.parametrize(
    ("extra", "corpus", "pattern"),
    [
        ("", SURROGATE_ROW, "c.jsonl:1: invalid JSON (a lone surrogate \\ud800"),
        ("", '{"prompt": "p", "completion": "c", "id": %s}\n' % ("9" * 100_000), "more than 4300 digits"),
        ("seed: %s\n" % ("9" * 100_000), GOOD_ROW, "r.yaml:5: invalid recipe: an integer of 100000 digits"),
        (
            "seed: 99999999999\n",
            GOOD_ROW,
            "r.yaml:5 (seed): Input should be less than or equal to 4294967295",
        ),
        (
            "gate: {max_regression: .inf}\n",
            GOOD_ROW,
            "(gate.max_regression): Input should be a finite number",
        ),
        ("arena: {confidence: .nan}\n", GOOD_ROW, "(arena.confidence): Input should be a finite number"),
        ('system_prompt: "be \\ud800"\n', GOOD_ROW, "r.yaml:5: invalid recipe: a lone surrogate \\ud800"),
        ("system_prompt: 2024-13-45\n", GOOD_ROW, "cannot read '2024-13-45' (month must be in 1..12)"),
        ("seed: !!int x\n", GOOD_ROW, "r.yaml:5: invalid recipe: cannot read 'x'"),
    ],
)
def test_a_bad_value_in_a_recipe_or_its_corpus_is_one_line_before_any_run(
    store, capsys, extra, corpus, pattern
):
    Path("r.yaml").write_text(RECIPE + extra)
    Path("c.jsonl").write_text(corpus)
    _one_line_exit_2(["run", "--recipe", "r.yaml"], capsys, pattern)
    assert _runs(store) == 0


def test_suite_new_refuses_a_lone_surrogate_and_writes_no_folder(store, capsys):
    Path("cases.jsonl").write_text('{"id": "a", "prompt": "p\\ud800", "reference": "x"}\n')
    argv = ["suite", "new", "mine", "--name", "mine", "--heldout", "cases.jsonl", "--scorer", "exact_match"]
    _one_line_exit_2(argv, capsys, "cases.jsonl:1: invalid JSON (a lone surrogate \\ud800")
    assert not Path("mine").exists()
    assert not [p for p in Path(".").iterdir() if "partial" in p.name]


def test_a_suite_that_does_not_load_keeps_no_new_lock(store, capsys):
    Path("s").mkdir()
    scorers = "[{name: regex, options: {pattern: '['}}]"
    Path("s/suite.yaml").write_text(
        f"name: s\nversion: 1\nparts: {{heldout: {{file: h.jsonl, scorers: {scorers}}}}}\n"
    )
    Path("s/h.jsonl").write_text('{"id": "a", "prompt": "p", "reference": "x"}\n')
    _one_line_exit_2(["suite", "lock", "s"], capsys, "is not a valid regular expression")
    assert sorted(p.name for p in Path("s").iterdir()) == ["h.jsonl", "suite.yaml"]


def test_an_argument_that_is_not_utf8_is_a_usage_error(capsys):
    line = _one_line_exit_2(["suite", "show", "bad\udcff"], capsys, "is not valid UTF-8")
    assert "\\udcff" in line


def test_traffic_with_a_100000_digit_number_is_one_line(store, capsys):
    Path("t.jsonl").write_text('{"key": "k", "prompt": "p", "champion": %s}\n' % ("9" * 100_000))
    _one_line_exit_2(["canary", "replay", "t.jsonl"], capsys, "t.jsonl:1: not JSON (a number of more than")


def test_a_gate_rule_with_an_infinite_threshold_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _scores(tmp_path)
    (tmp_path / "g.yaml").write_text("gate: {max_regression: .inf}\n")
    _one_line_exit_2([*GATE, "--rule", "g.yaml"], capsys, "max_regression: Input should be a finite number")


def test_an_endpoint_that_does_not_answer_is_refused_before_the_store_is_touched(store, capsys):
    dead = "http://127.0.0.1:1/v1"
    baseline = f"{{base_url: '{dead}', model: b}}"
    Path("r.yaml").write_text(
        RECIPE.replace("corpus: [c.jsonl]\n", "")
        + f"candidate: {{kind: endpoint, base_url: '{dead}', model: m, baseline: {baseline}}}\n"
    )
    _one_line_exit_2(
        ["run", "--recipe", "r.yaml"], capsys, f"r.yaml (candidate): endpoint {dead}/models does not answer"
    )
    assert _runs(store) == 0


def test_failures_of_a_canary_run_that_does_not_exist_is_one_line(store, capsys):
    from mlflow.tracking import MlflowClient

    from ftlineage.tracking import init_store

    client = MlflowClient(tracking_uri=init_store())
    run = client.create_run(client.create_experiment("e"))
    client.set_terminated(run.info.run_id)
    argv = ["failures", run.info.run_id, "--canary", "NOSUCH", "--no-log", "--out", "f"]
    _one_line_exit_2(argv, capsys, "no run 'NOSUCH'")
    assert not Path("f").exists()


def test_status_against_a_server_that_does_not_answer_is_one_line_at_once(monkeypatch, capsys):
    import time

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    start = time.monotonic()
    _one_line_exit_2(["status"], capsys, "tracking server http://127.0.0.1:1 does not answer")
    assert time.monotonic() - start < 30  # MLflow's own retries took 252 s


def test_a_quote_in_a_model_name_never_reaches_the_registry_filter(store, capsys):
    from mlflow.tracking import MlflowClient

    from ftlineage import tags as T
    from ftlineage.tracking import init_store

    client = MlflowClient(tracking_uri=init_store())
    for name in ("x' OR '1'='1", "other"):
        client.create_registered_model(name)
        client.create_model_version(name, source=str(Path.cwd()), tags={T.PROMOTION: "pending"})
    assert main(["registry", "check", "x' OR '1'='1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("x' OR '1'='1: found half-promoted versions 1 ")
    assert "other" not in out
