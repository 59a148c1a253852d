"""Fuzzing the inputs a user or an attacker controls: random bytes and structures into the recipe
loader, the corpus reader, the suite loader and the command line. Each target gets a bounded
number of seeded examples; the property is the same everywhere: our own one-line error or success,
never another exception, never exit 1, memory bounded.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftlineage import suites
from ftlineage.cli import main
from ftlineage.data import read_corpus
from ftlineage.errors import FtlineageError
from ftlineage.recipe import load_recipe

FUZZ = settings(
    max_examples=int(os.environ.get("FTLINEAGE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
MEMORY_KIB = 1_500_000

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=True), st.text(max_size=30)
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)
RECIPE_KEYS = [
    "name",
    "suite",
    "corpus",
    "prompt_template",
    "training",
    "audit",
    "gate",
    "arena",
    "base_model",
]
recipe_like = st.dictionaries(st.sampled_from(RECIPE_KEYS), structures, max_size=len(RECIPE_KEYS))


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.fixture(scope="module")
def start_rss():
    return _rss()


def _only_ours(call):
    message = ""
    try:
        call()
    except FtlineageError as exc:
        message = str(exc)
    assert "\n" not in message, message


@FUZZ
@given(data=st.one_of(st.binary(max_size=400), recipe_like.map(lambda d: yaml.safe_dump(d).encode())))
def test_recipe_loader(tmp_path_factory, start_rss, data):
    path = tmp_path_factory.mktemp("recipe") / "r.yaml"
    path.write_bytes(data)
    _only_ours(lambda: load_recipe(path))
    assert _rss() - start_rss < MEMORY_KIB


corpus_lines = st.one_of(
    st.binary(max_size=200),
    structures.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["prompt", "completion", "id", "label", "source"]), structures).map(
        lambda d: json.dumps(d).encode()
    ),
    st.integers(1, 3000).map(lambda n: b'{"prompt": ' + b"[" * n + b"]" * n + b', "completion": "c"}'),
)


@FUZZ
@given(lines=st.lists(corpus_lines, max_size=6), suffix=st.sampled_from([".jsonl", ".parquet", ".json"]))
def test_corpus_reader(tmp_path_factory, start_rss, lines, suffix):
    path = tmp_path_factory.mktemp("corpus") / f"c{suffix}"
    path.write_bytes(b"\n".join(lines))
    _only_ours(lambda: read_corpus([path]))
    assert _rss() - start_rss < MEMORY_KIB


@FUZZ
@given(
    part=st.sampled_from(["suite.yaml", "suite.lock", "heldout.jsonl", "drift.jsonl", "arena.jsonl"]),
    data=st.one_of(st.binary(max_size=300), structures.map(lambda v: json.dumps(v).encode())),
)
def test_suite_loader(tmp_path_factory, start_rss, part, data):
    folder = tmp_path_factory.mktemp("suite") / "s"
    shutil.copytree(suites.bundled_root() / "healthcare_v17", folder)
    (folder / part).write_bytes(data)
    _only_ours(lambda: suites.load(str(folder)))
    assert _rss() - start_rss < MEMORY_KIB


COMMANDS = [
    ["run"],
    ["audit"],
    ["gate"],
    ["arena", "plan"],
    ["suite", "verify"],
    ["suite", "list"],
    ["suite", "show"],
    ["registry", "check"],
    ["promote"],
    ["diff"],
    ["canary", "replay"],
    ["train"],
    ["sweep"],
    ["baseline", "pin"],
    ["traces"],
    ["nosuch"],
    [],
]
TOKENS = [
    "--out",
    "--recipe",
    "--suite",
    "--rule",
    "--candidate",
    "--baseline",
    "--arena",
    "--model",
    "--version",
    "--to",
    "--split",
    "--seeds",
    "--trials",
    "--label-sample",
    "--relabels",
    "--expect-version",
    "--slice",
    "--effect",
    "--pairs",
    "--help",
    "-5",
    "0",
    "1e9",
    "nan",
    "x",
    "healthcare_v17",
    "champion",
    "g.bin",
    "r.yaml",
    "e.jsonl",
    "d",
    "missing.jsonl",
    "deadbeef",
]


@FUZZ
@given(
    command=st.sampled_from(COMMANDS),
    args=st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=5),
)
def test_command_line(tmp_path_factory, monkeypatch, capsys, start_rss, command, args):
    work = tmp_path_factory.mktemp("cli")
    monkeypatch.chdir(work)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'm.db'}")
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(work / "w"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    Path("g.bin").write_bytes(bytes(range(256)))
    Path("r.yaml").write_text("name: [unclosed\n")
    Path("e.jsonl").write_text("")
    Path("d").mkdir()
    try:
        code = main([*command, *args])
    except SystemExit as exc:  # --help and friends
        code = exc.code or 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code != 1, (command, args, err[-500:])
    assert _rss() - start_rss < MEMORY_KIB
