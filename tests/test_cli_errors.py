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
