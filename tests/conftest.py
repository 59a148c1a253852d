"""Shared fixtures: offline env, one thread, a tiny recipe and a private model cache."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["FTLINEAGE_NUM_THREADS"] = "1"
os.environ["FTLINEAGE_PROGRESS"] = "0"
os.environ.pop("MLFLOW_RUN_ID", None)

pytest_plugins = ["pytester"]

TINY_RECIPE = """\
name: tiny
suite: healthcare_v17
seed: 3
base_model:
  name: builtin:tiny-llama
  family: llama
  builtin: {{hidden_size: 48, layers: 2, heads: 2, intermediate_size: 96, vocab_size: 400,
            pretrain_steps: 20, batch_size: 8, corpus_rows: 300, seed: 1}}
corpus: [{corpus}]
prompt_template: "### Instruction:\\nExtract as JSON.\\n{{prompt}}\\n### Response:\\n"
training:
  max_steps: 6
  save_steps: 2
  batch_size: 4
  max_seq_len: 160
  eval_limit: 4
  replay_fraction: 0.2
arena: {{limit: 12}}
audit: {{semantic: false}}
"""


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir shared by the session so the tiny base model is built once."""
    path = tmp_path_factory.mktemp("cache")
    os.environ["FTLINEAGE_CACHE_DIR"] = str(path)
    return path


@pytest.fixture
def tiny_recipe(tmp_path: Path, model_cache: Path) -> Path:
    """A fast recipe over a 150-row slice of the demo corpus."""
    src = ROOT / "recipes" / "data" / "healthcare_postcall_train.jsonl"
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(src.read_text().splitlines(keepends=True)[:150]))
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE.format(corpus=corpus))
    return path


@pytest.fixture
def tiny_base(tiny_recipe: Path, model_cache: Path) -> str:
    """The tiny recipe's base model folder (built once per session)."""
    from ftlineage.models import resolve_base
    from ftlineage.recipe import load_recipe

    return resolve_base(load_recipe(tiny_recipe).base_model, model_cache, progress=False)


@pytest.fixture
def chat_server(tiny_base: str) -> Any:
    """``(process, base URL)`` of the loopback OpenAI-compatible server over the tiny base model."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftlineage.models._serve", tiny_base, "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "FTLINEAGE_NUM_THREADS": "1"},
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    yield proc, url
    proc.kill()
    proc.wait()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real sqlite MLflow store in tmp_path, used by MLflow clients in this process."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.chdir(tmp_path)
    return uri


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, model_cache):
    """Run the tiny job once for the session (about 20 s)."""
    import os

    tmp = tmp_path_factory.mktemp("job")
    src = (ROOT / "recipes/data/healthcare_postcall_train.jsonl").read_text().splitlines(True)
    (tmp / "corpus.jsonl").write_text("".join(src[:150]))
    (tmp / "tiny.yaml").write_text(TINY_RECIPE.format(corpus=tmp / "corpus.jsonl"))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    old = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "FTLINEAGE_WORK_DIR")}
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ["FTLINEAGE_WORK_DIR"] = str(tmp / "work")
    try:
        from mlflow.tracking import MlflowClient

        from ftlineage.pipeline import run_job

        result = run_job(str(tmp / "tiny.yaml"), None)
        yield result, MlflowClient(uri)
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


GUARD_KEY = "guard-test-key-" + "x" * 16


def _pass_decision() -> Any:
    from ftlineage.gate import GateDecision

    return GateDecision(decision="pass", stage="gate", checks=(), lineage={"prompt_sha": "p" * 64})


PASS = _pass_decision()


def signed_version(
    client: Any,
    name: str,
    *,
    signed: bool = True,
    decision: Any = None,
    files: dict[str, str] | None = None,
    runs_uri: bool = False,
) -> str:
    """A version of ``name`` serving a small model folder, with gate evidence signed under the guard's key.

    ``signed=False`` leaves the evidence unsigned; ``files`` are the folder's files (a weights
    stand-in by default); ``runs_uri`` registers the source as ``runs:/ID/model``. The signature
    binds the content the registry serves for the version.
    """
    from mlflow.exceptions import MlflowException

    from ftlineage.gate.evidence import evidence_tags
    from ftlineage.gate.promotion import sign_version
    from ftlineage.tracking import MlflowRegistry

    decision = decision or PASS
    try:
        client.create_registered_model(name)
    except MlflowException:
        pass
    exp = client.get_experiment_by_name("guard") or client.get_experiment(client.create_experiment("guard"))
    run = client.create_run(exp.experiment_id)
    with tempfile.TemporaryDirectory() as tmp:  # the run's decision and model folder, as the job logs them
        (Path(tmp) / "decision.json").write_text(decision.model_dump_json(), encoding="utf-8")
        client.log_artifact(run.info.run_id, str(Path(tmp) / "decision.json"), "gate")
        folder = Path(tmp) / "model"
        folder.mkdir()
        for fname, text in (files or {"weights.txt": f"weights of {name} {run.info.run_id}"}).items():
            (folder / fname).write_text(text, encoding="utf-8")
        client.log_artifacts(run.info.run_id, str(folder), "model")
    source = f"runs:/{run.info.run_id}/model" if runs_uri else f"{run.info.artifact_uri}/model"
    mv = client.create_model_version(name, source, run.info.run_id, tags=evidence_tags(decision))
    if signed:
        sign_version(MlflowRegistry(client), name, str(mv.version), decision, GUARD_KEY.encode())
    return str(mv.version)


def claim_champion(client: Any, name: str, version: str, alias: str = "champion") -> str:
    """The key holder's signed ledger entry for moving ``@alias`` to ``version`` (not the move itself)."""
    from ftlineage.gate.promotion import claim_move
    from ftlineage.tracking import MlflowRegistry

    return claim_move(MlflowRegistry(client), name, alias, version, key=GUARD_KEY.encode())


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    """PostgreSQL, SeaweedFS (S3) and ``mlflow server --app-name ftlineage-guard``, started for the session.

    Skipped, with the reason, only where PostgreSQL's server binaries or ``weed`` are missing
    (``make test`` installs both).
    """
    from ftlineage.errors import StackError
    from ftlineage.stack import down, up
    from ftlineage.stack._services import pg_bindir, pg_user, weed_binary

    try:
        pg_bindir(), pg_user(), weed_binary()
    except StackError as exc:
        pytest.skip(f"the production stack cannot start here: {exc}")
    root = Path(tempfile.mkdtemp(prefix="ftlineage-stack-"))
    started = up(root, workers=2, gate_key=GUARD_KEY)
    yield started
    down(root, purge=True)


@pytest.fixture(scope="session")
def sqlite_guard_server(tmp_path_factory: pytest.TempPathFactory):
    """The guarded tracking server on sqlite and a local folder, with the gate key; yield its URL."""
    tmp = tmp_path_factory.mktemp("guard")
    from ftlineage.net import free_port

    port = free_port()
    env = {**os.environ, "FTLINEAGE_GATE_KEY": GUARD_KEY}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--app-name",
            "ftlineage-guard",
            "--backend-store-uri",
            f"sqlite:///{tmp / 'db.sqlite'}",
            "--artifacts-destination",
            str(tmp / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp,
    )
    url = f"http://127.0.0.1:{port}"
    deadline, healthy = time.monotonic() + 120, 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {Path(tmp / 'server.log').read_text()[-2000:]}")
        try:
            # A worker that has accepted the socket but is still importing answers late: a
            # read timeout here means "not yet", like a refused connection. Several answers
            # in a row, so the second worker is up too, not only the first.
            healthy = healthy + 1 if requests.get(f"{url}/health", timeout=5).ok else 0
        except requests.RequestException:
            healthy = 0
        if healthy >= 4:
            break
        time.sleep(0.25 if healthy else 0.5)
    else:
        proc.kill()
        raise RuntimeError("mlflow server did not start in 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


SERVERS = ["sqlite", pytest.param("stack", marks=pytest.mark.stack)]


@pytest.fixture(scope="session", params=SERVERS)
def guard_server(request: pytest.FixtureRequest) -> str:
    """The guarded tracking server's URL: on sqlite, and on the PostgreSQL + S3 stack."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_guard_server"))
    return str(request.getfixturevalue("stack").tracking_uri)


@pytest.fixture(params=SERVERS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tracking URI for this process's MLflow clients: a fresh sqlite file, or the stack's server."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("store"))
    stack = request.getfixturevalue("stack")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", stack.tracking_uri)
    monkeypatch.setenv("FTLINEAGE_GATE_KEY", GUARD_KEY)
    monkeypatch.setenv("FTLINEAGE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.chdir(tmp_path)
    return str(stack.tracking_uri)


def _builtin(**kw: Any) -> Any:
    from ftlineage.recipe import BuiltinSpec

    return BuiltinSpec(**kw)


TINY = _builtin(
    hidden_size=48,
    layers=2,
    heads=2,
    intermediate_size=96,
    vocab_size=400,
    pretrain_steps=20,
    batch_size=8,
    corpus_rows=300,
    seed=1,
)
DRIFT_CASES = 16


@pytest.fixture(scope="session")
def capable_base(tmp_path_factory, model_cache) -> Path:
    """The tiny base taught the first drift cases (drift score 1.0 on them), saved to a folder."""
    from ftlineage import suites
    from ftlineage.models import load_model, resolve_base
    from ftlineage.recipe import BaseModelSpec, TrainingSpec
    from ftlineage.training import build_trainer, tokenize_rows

    suite = suites.load("healthcare_v17")
    model, tok = load_model(resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), model_cache))
    rows = [{"prompt": c.prompt, "completion": c.reference} for c in suite.drift[:DRIFT_CASES]]
    examples = tokenize_rows(rows, tok, suite.spec("drift").template, 160)
    spec = TrainingSpec(
        method="full", max_steps=150, save_steps=1000, batch_size=8, learning_rate=5e-3, warmup_steps=5
    )
    out = tmp_path_factory.mktemp("capable")
    build_trainer(
        model, tok, examples, spec, output_dir=out / "ckpt", seed=0, callbacks=[], progress=False
    ).train()
    model.save_pretrained(out / "model")
    tok.save_pretrained(out / "model")
    return out / "model"


@pytest.fixture
def tiny_export(tiny_recipe: Path, tmp_path: Path) -> Any:
    """The tiny recipe's base model saved as an export folder: (recipe, model, tokenizer, folder)."""
    from types import SimpleNamespace

    from ftlineage.models import load_model, resolve_base
    from ftlineage.recipe import load_recipe
    from ftlineage.settings import Settings

    recipe = load_recipe(tiny_recipe)
    model, tok = load_model(resolve_base(recipe.base_model, Settings.from_env().cache_dir))
    model.save_pretrained(tmp_path / "export")
    tok.save_pretrained(tmp_path / "export")
    return SimpleNamespace(recipe=recipe, model=model, tokenizer=tok, folder=tmp_path / "export")


def log_tiny_model(export: Any, experiment: str, max_new_tokens: int) -> tuple[Any, str, str]:
    """Log the export as our pyfunc in a new run: (client, run id, model URI)."""
    from mlflow.tracking import MlflowClient

    from ftlineage.tracking._mlflow import MlflowTracker
    from ftlineage.tracking._registry import log_pyfunc

    tracker = MlflowTracker.start(experiment=experiment, run_name=experiment)
    client = MlflowClient()
    uri = log_pyfunc(client, tracker.run_id, export.folder, export.recipe.prompt_template, max_new_tokens)
    return client, tracker.run_id, uri
