"""Fuzzing the inputs a user or an attacker controls: random bytes and structures into the recipe
loader, the corpus reader, the suite loader and the command line, and hostile values and files
into every verb. Each target gets a bounded number of seeded examples; the property is the same
everywhere: our own one-line error or success, never another exception, never exit 1, memory
bounded, and for a failed command no partial output and no MLflow run.

The default profile is short (a few examples per verb); ``-m slow`` runs the long one, and
``FTLINEAGE_FUZZ_EXAMPLES`` / ``FTLINEAGE_FUZZ_VERB_EXAMPLES`` raise the counts.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


# -- Every verb of the command line, with hostile arguments and files ---------------------------
#
# The command tree is read from the app itself, so a new verb or option is fuzzed without an edit
# here. Each option draws from a pool for its type: lone surrogates, 100,000-digit integers,
# non-finite floats, quotes that would break a search filter, YAML aliases, an address where
# nothing answers. The property, for every call: an exit code ftlineage.errors documents (never
# 1, a bug), no traceback anywhere, an error is one line, a failed command leaves no output
# behind and created no MLflow run, and no run is left RUNNING.

SURROGATE = "x\ud800y"
HUGE = "9" * 100_000
HUGE_TOKEN = "<100,000 nines>"  # drawn as this, passed as HUGE: a failure report stays readable
UNREACHABLE = "http://127.0.0.1:1"
QUOTED = ["x' OR '1'='1", 'a"b', "both'\"q", "end\\"]
TEXTS = [
    SURROGATE,
    HUGE_TOKEN,
    "",
    "NOSUCH",
    "healthcare_v17",
    "0123456789abcdef" * 2,
    UNREACHABLE,
    f"{UNREACHABLE}/v1",
    "models:/x' OR '1'='1@champion",
    "regex:pattern=[",
    "exact_match:mode=2024-13-45",
    "json_schema:schema={a: &x 1, b: *x}",
    *QUOTED,
]
INTS = [HUGE_TOKEN, "99999999999999999999", "-5", "0", "3"]
TEXTS += ["99999999999999999999", "-1", "nan"]
FLOATS = ["nan", "inf", "-inf", "1e999", "1e-300", "-1", "0.5", HUGE_TOKEN]
DOCUMENTED_EXITS = {0, 2, 3, 4, 5, 6, 7}  # ftlineage.errors; 1 is a bug
FAILED_EXITS = {1, 2, 7}  # a failure, not a verdict: it must leave nothing behind
NOT_FUZZED = {
    ("canary", "analysis"): "serves until stopped once its suite loads",
    ("canary", "simulate"): "a CPU-bound study whose size is its arguments",
    ("stack", "up"): "starts PostgreSQL, an object store and a tracking server",
}
RECIPE_BASE = (
    'name: fz\nsuite: healthcare_v17\ncorpus: [c_surrogate.jsonl]\nprompt_template: "Q: {prompt} A:"\n'
)
SUITE_BASE = "name: s\nversion: 1\nparts: {heldout: {file: h.jsonl}}\n"


def _jsonl(row: dict[str, Any]) -> bytes:
    """One JSONL line; the value ``"HUGE"`` becomes a 100,000-digit number, ``SURROGATE`` ``\\ud800``."""
    text = json.dumps(row).replace('"HUGE"', HUGE).replace("SURROGATE", "\\ud800")
    return (text + "\n").encode()


def _scores(value: str) -> bytes:
    return _jsonl({"suite_sha": "a" * 64, "model_label": "x", "metrics": {"heldout/exact_match": value}})


HOSTILE_FILES: dict[str, bytes] = {
    "c_surrogate.jsonl": _jsonl({"prompt": "pSURROGATE", "completion": "c"}),
    "c_hugeint.jsonl": _jsonl({"prompt": "p", "completion": "c", "id": "HUGE"}),
    "c_nonfinite.jsonl": b'{"prompt": NaN, "completion": Infinity}\n',
    "c_quoted.jsonl": _jsonl({"prompt": "p", "completion": "c", "id": QUOTED[0], "source": QUOTED[2]}),
    "r_surrogate.yaml": RECIPE_BASE.replace("name: fz", 'name: "fz\\ud800"').encode(),
    "r_hugeint.yaml": (RECIPE_BASE + f"seed: {HUGE}\n").encode(),
    "r_inf.yaml": (RECIPE_BASE + "gate: {max_regression: .inf}\n").encode(),
    "r_nan.yaml": (RECIPE_BASE + "arena: {confidence: .nan}\n").encode(),
    "r_alias.yaml": (RECIPE_BASE + "training: &t {max_steps: 1}\nsweep: *t\n").encode(),
    "r_date.yaml": (RECIPE_BASE + "seed: 2024-13-45\n").encode(),
    "r_quoted.yaml": (RECIPE_BASE + "registry: {model_name: \"x' OR '1'='1\"}\n").encode(),
    "r_endpoint.yaml": (
        RECIPE_BASE + f"candidate: {{kind: endpoint, base_url: '{UNREACHABLE}/v1', model: m}}\n"
    ).encode(),
    "r_prompt_json.yaml": (RECIPE_BASE + "candidate: {kind: prompt, prompt: p_surrogate.json}\n").encode(),
    "r_prompt_yaml.yaml": (RECIPE_BASE + "candidate: {kind: prompt, prompt: p_alias.yaml}\n").encode(),
    "p_surrogate.json": _jsonl({"template": "Q: {prompt}SURROGATE"}),
    "p_alias.yaml": b"template: &t 'Q: {prompt}'\nsystem: *t\n",
    "s_nonfinite.json": _scores("NaN").replace(b'"NaN"', b"NaN"),
    "s_hugeint.json": _scores("HUGE"),
    "s_surrogate.json": _scores("SURROGATE"),
    "g_inf.yaml": b"gate: {max_regression: .inf, drift_fail_points: .nan}\n",
    "g_alias.yaml": b"a: &a [1]\nb: *a\n",
    "t_surrogate.jsonl": _jsonl({"key": "kSURROGATE", "prompt": "p", "champion": "a", "challenger": "b"}),
    "t_hugeint.jsonl": _jsonl({"key": "k", "prompt": "p", "champion": "HUGE", "challenger": "b"}),
    "rl.csv": b"label,relabel\nx' OR '1'='1,\"a\"\"b\"\n",
    "cs_surrogate.jsonl": _jsonl({"id": "a", "prompt": "pSURROGATE", "reference": "x"}),
    "cs_hugeint.jsonl": _jsonl({"id": "HUGE", "prompt": "p", "reference": "x"}),
    "sd_surrogate/suite.yaml": SUITE_BASE.replace("name: s", 'name: "s\\udc00"').encode(),
    "sd_alias/suite.yaml": (SUITE_BASE + "x: &p [1]\ny: *p\n").encode(),
    "sd_hugeint/suite.yaml": SUITE_BASE.replace("version: 1", f"version: {HUGE}").encode(),
    "sd_regex/suite.yaml": (
        SUITE_BASE.replace(
            "file: h.jsonl", "file: h.jsonl, scorers: [{name: regex, options: {pattern: '['}}]"
        )
    ).encode(),
    "sd_regex/h.jsonl": _jsonl({"id": "a", "prompt": "p", "reference": "x"}),
}
SUITE_DIRS = ["sd_surrogate", "sd_alias", "sd_hugeint", "sd_regex"]
PATHS = [*HOSTILE_FILES, *SUITE_DIRS, "missing.jsonl", "out", "out/new/f.json"]
SOME_FILES = ["r_quoted.yaml", "c_quoted.jsonl", "s_hugeint.json", "missing.jsonl"]
STORE_FILES = {"m.db", "m.db.ftlineage-init.lock"}


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield path, command
        return
    for name, sub in sorted(subcommands.items()):
        yield from _walk(sub, (*path, name))


def _verbs() -> list[tuple[tuple[str, ...], Any]]:
    import typer

    from ftlineage.cli import app

    return [(p, c) for p, c in _walk(typer.main.get_command(app)) if p not in NOT_FUZZED]


VERBS = _verbs()


def _kind(param: Any) -> str:
    """int, float, path or text, from the annotation typer keeps (text when it keeps none)."""
    annotation = str(getattr(getattr(param, "type_descriptor", None), "annotation", ""))
    for kind, marker in (("int", "int"), ("float", "float"), ("path", "Path")):
        if marker in annotation:
            return kind
    return "text"


def _values(param: Any) -> st.SearchStrategy[str]:
    kind = _kind(param)
    hostile = {"int": INTS, "float": FLOATS, "path": PATHS, "text": [*TEXTS, *SUITE_DIRS, *SOME_FILES]}[kind]
    return st.sampled_from(hostile)


@st.composite
def _argv(draw: Any, verb: tuple[tuple[str, ...], Any]) -> list[str]:
    """The verb, a value for every required parameter, and some hostile options."""
    path, command = verb
    argv = list(path)
    for param in command.params:
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            flags = [*param.opts, *getattr(param, "secondary_opts", [])]
            argv += [draw(st.sampled_from(flags))] if draw(st.booleans()) else []
            continue
        if not param.required and not draw(st.booleans()):
            continue
        values = draw(st.lists(_values(param), min_size=1, max_size=2 if param.nargs == -1 else 1))
        argv += values if param.param_type_name == "argument" else [param.opts[0], values[0]]
    if path == ("audit",):
        argv.append("--no-semantic")  # the embedding pass costs tens of seconds and checks no input
    return argv


def _running_and_total_runs(db: Path) -> tuple[int, int]:
    import sqlite3

    if not db.is_file():
        return 0, 0
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("select status, count(*) from runs group by status").fetchall()
        except sqlite3.OperationalError:  # no tables yet
            return 0, 0
    counts = dict(rows)
    return counts.get("RUNNING", 0), sum(counts.values())


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized, empty sqlite store: copied into each example (creating one costs seconds)."""
    from ftlineage.tracking import init_store

    db = tmp_path_factory.mktemp("store") / "m.db"
    init_store(f"sqlite:///{db}")
    return db


class _Timeout(BaseException):  # not an Exception: main() must not turn it into an exit code
    pass


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        raise _Timeout(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _call(argv: list[str]) -> int:
    try:
        with _time_limit(120):
            return main(argv)
    except SystemExit as exc:  # --help and friends
        return int(exc.code or 0)


def check_invariants(argv: list[str], work: Path, code: int, out: str, err: str, before: set[Path]) -> None:
    """What every call must keep, whatever its input (see the section comment)."""
    shown = ([a if len(a) < 100 else HUGE_TOKEN for a in argv], err[-800:])
    assert code in DOCUMENTED_EXITS, shown
    assert "Traceback" not in out + err, shown
    running, total = _running_and_total_runs(work / "m.db")
    assert running == 0, shown
    if code not in FAILED_EXITS:
        return
    errors = [line for line in err.splitlines() if line.startswith("ftlineage: ")]
    assert len(errors) == 1 or (not errors and "Usage:" in err), shown
    left = {p for p in work.rglob("*") if p.is_file()} - before
    assert not {p for p in left if p.name not in STORE_FILES}, (shown, sorted(map(str, left)))
    assert not list(work.glob(".*partial*")), shown
    assert total == 0, shown  # bad input is refused before a run exists


def _prepare(work: Path, monkeypatch: pytest.MonkeyPatch, store: Path, tracking: str = "sqlite") -> set[Path]:
    """A fresh folder holding every hostile file and an empty store; returns the files in it."""
    monkeypatch.chdir(work)
    for name, content in HOSTILE_FILES.items():
        (work / name).parent.mkdir(exist_ok=True)
        (work / name).write_bytes(content)
    shutil.copyfile(store, work / "m.db")
    uri = f"sqlite:///{work / 'm.db'}" if tracking == "sqlite" else tracking
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(work / "w"))
    monkeypatch.setenv("FTLINEAGE_ENGINE", "local")  # `run --engine` sets it; undone after each call
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    return {p for p in work.rglob("*") if p.is_file()}


# Every parameter of every verb, one at a time, gets each value of its kind's sweep; the other
# required parameters get a placeholder. Deterministic: "a 100,000-digit integer in any field"
# is checked for every field, not left to chance.
SWEEP = {
    "text": [HUGE, QUOTED[0], QUOTED[3], f"{UNREACHABLE}/v1"],
    "path": [HUGE, "r_hugeint.yaml", "s_hugeint.json"],
    "int": ["99999999999999999999", "-99999999999999999999"],
    "float": ["nan", "-inf", "1e-300"],
}
PLACEHOLDER = {"text": "NOSUCH", "path": "missing.jsonl", "int": "1", "float": "0.5"}


def _swept(verb: tuple[tuple[str, ...], Any]) -> Iterator[list[str]]:
    path, command = verb
    params = [p for p in command.params if not getattr(p, "is_flag", False)]
    for target in params:
        for value in SWEEP[_kind(target)]:
            argv = list(path)
            for param in params:
                if param is not target and not param.required:
                    continue
                given_value = value if param is target else PLACEHOLDER[_kind(param)]
                argv += [given_value] if param.param_type_name == "argument" else [param.opts[0], given_value]
            yield [*argv, "--no-semantic"] if path == ("audit",) else argv


@pytest.mark.parametrize("verb", VERBS, ids=[" ".join(p) for p, _ in VERBS])
def test_every_parameter_takes_each_hostile_value(tmp_path_factory, monkeypatch, capfd, empty_store, verb):
    for argv in _swept(verb):
        with monkeypatch.context() as patch:
            work = tmp_path_factory.mktemp("sweep")
            before = _prepare(work, patch, empty_store)
            capfd.readouterr()
            code = _call(argv)
            out, err = capfd.readouterr()
            check_invariants(argv, work, code, out, err, before)


def _fuzz_verbs(profile: settings) -> Any:
    @profile
    @given(data=st.data(), tracking=st.sampled_from(["sqlite"] * 4 + [UNREACHABLE]))
    def run_one(tmp_path_factory, monkeypatch, capfd, empty_store, verb, data, tracking):
        work = tmp_path_factory.mktemp("verb")
        before = _prepare(work, monkeypatch, empty_store, tracking)
        argv = [HUGE if token == HUGE_TOKEN else token for token in data.draw(_argv(verb))]
        capfd.readouterr()
        code = _call(argv)
        out, err = capfd.readouterr()
        check_invariants(argv, work, code, out, err, before)

    return run_one


SHORT = settings(FUZZ, max_examples=int(os.environ.get("FTLINEAGE_FUZZ_VERB_EXAMPLES", "8")))
LONG = settings(FUZZ, max_examples=300)


@pytest.mark.parametrize("verb", VERBS, ids=[" ".join(p) for p, _ in VERBS])
def test_every_verb_with_hostile_input(tmp_path_factory, monkeypatch, capfd, empty_store, verb):
    _fuzz_verbs(SHORT)(tmp_path_factory, monkeypatch, capfd, empty_store, verb)


@pytest.mark.slow
@pytest.mark.parametrize("verb", VERBS, ids=[" ".join(p) for p, _ in VERBS])
def test_every_verb_with_hostile_input_long(tmp_path_factory, monkeypatch, capfd, empty_store, verb):
    _fuzz_verbs(LONG)(tmp_path_factory, monkeypatch, capfd, empty_store, verb)
