"""Generation backends: the same model gives the same outputs and scores in process and behind a server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ftlineage import suites
from ftlineage.errors import BadInputError, MissingDependencyError
from ftlineage.models import (
    BackendError,
    Generator,
    HFGenerator,
    OpenAIGenerator,
    format_for,
    load_model,
    make_generator,
    resolve_base,
)
from ftlineage.models._load import auto_batch_size, generate
from ftlineage.models._serve import ChatServer
from ftlineage.recipe import BaseModelSpec, GenerationSpec
from ftlineage.testing import GeneratorContract
from ftlineage.training import evaluate_model
from tests.conftest import TINY
from tests.models.test_chat import make_chat_model


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    src = resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), model_cache)
    return make_chat_model(Path(src), tmp_path_factory.mktemp("served") / "model")


@pytest.fixture(scope="module")
def server(chat_model: Path):
    srv = ChatServer(str(chat_model))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_openai_backend_scores_the_served_model_like_hf(chat_model: Path, server: ChatServer) -> None:
    model, tok = load_model(str(chat_model))
    suite = suites.load("general_v1")
    fmt = format_for(tok, "{prompt}", chat=None)
    assert fmt.chat
    remote = OpenAIGenerator(server.url, model=str(chat_model), concurrency=3)
    assert isinstance(remote, Generator)
    hf_metrics, hf_cases = evaluate_model(model, tok, suite, fmt, limit=5)
    api_metrics, api_cases = evaluate_model(model, tok, suite, fmt, limit=5, generator=remote)
    assert server.requests >= 10
    assert [c.output for c in api_cases] == [c.output for c in hf_cases]
    assert {k: v for k, v in api_metrics.items() if not k.startswith("latency")} == {
        k: v for k, v in hf_metrics.items() if not k.startswith("latency")
    }


def test_batching_does_not_change_greedy_outputs(chat_model: Path) -> None:
    model, tok = load_model(str(chat_model))
    fmt = format_for(tok, "{prompt}", chat=None)
    prompts = fmt.render_all(
        tok, ["What is 2 + 2?", "Name a colour.", "Say hi to Ann, who called about a refund."]
    )
    one, _ = generate(model, tok, prompts, max_new_tokens=8, batch_size=1, add_special_tokens=False)
    many, _ = generate(model, tok, prompts, max_new_tokens=8, batch_size=None, add_special_tokens=False)
    assert one == many
    assert 1 <= auto_batch_size(model, 200, 72, memory_gb=2.0) <= 64
    assert auto_batch_size(model, 200, 72, memory_gb=1e-6) == 1


def test_a_dead_endpoint_is_a_clear_error() -> None:
    gen = OpenAIGenerator("http://127.0.0.1:9/v1", model="m", timeout_s=2)
    with pytest.raises(BackendError, match="127.0.0.1:9"):
        gen.generate(["hi"], max_new_tokens=2)


def test_backend_choice_and_missing_vllm(chat_model: Path) -> None:
    model, tok = load_model(str(chat_model))
    assert isinstance(make_generator(GenerationSpec(), model, tok, add_special_tokens=True), HFGenerator)
    with pytest.raises(ValueError, match="base_url"):
        GenerationSpec(backend="openai")
    remote = make_generator(
        GenerationSpec(backend="openai", base_url="http://127.0.0.1:9/v1"),
        model,
        tok,
        add_special_tokens=True,
    )
    assert isinstance(remote, OpenAIGenerator)
    with pytest.raises(MissingDependencyError, match="pip install 'vllm'"):
        make_generator(GenerationSpec(backend="vllm"), model, tok, add_special_tokens=True)


def test_device_and_dtype_choices() -> None:
    import torch

    from ftlineage.models import resolve_device, resolve_dtype

    assert resolve_device("cpu") == "cpu"
    assert resolve_dtype("auto", "cpu") == torch.float32  # CPU runs stay bit-reproducible
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    if not torch.cuda.is_available():
        assert resolve_device("auto") in ("cpu", "mps")
        with pytest.raises(BadInputError, match="no CUDA GPU"):
            resolve_device("cuda")
        from ftlineage.models._load import _quantization

        with pytest.raises(BadInputError, match="needs a CUDA GPU"):
            _quantization("4bit", "cpu")


def test_ftlineage_score_gives_the_same_metrics_in_process_and_behind_the_server(
    chat_model: Path, server: ChatServer, tmp_path: Path
) -> None:
    import json

    from ftlineage.cli import main
    from ftlineage.models import FORMAT_FILE

    _, tok = load_model(str(chat_model))
    (chat_model / FORMAT_FILE).write_text(format_for(tok, "{prompt}", chat=None).to_json())
    common = [str(chat_model), "--suite", "general_v1", "--limit", "3"]
    assert main(["score", *common, "--out", str(tmp_path / "hf.json")]) == 0
    remote = ["--backend", "openai", "--base-url", server.url, "--served-model", "m"]
    assert main(["score", *common, *remote, "--out", str(tmp_path / "api.json")]) == 0
    hf, api = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("hf", "api"))
    hf.pop("latency/ms_per_case", None)
    api.pop("latency/ms_per_case", None)
    assert hf == api
    assert hf


def test_scoring_a_served_model_reads_its_tokenizer_but_no_weights(
    chat_model: Path, server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftlineage.ci import _candidate
    from ftlineage.cli import main
    from ftlineage.models import FORMAT_FILE

    _, tok = load_model(str(chat_model))
    (chat_model / FORMAT_FILE).write_text(format_for(tok, "{prompt}", chat=None).to_json())

    def no_weights(*_: object, **__: object) -> None:
        raise AssertionError("the openai backend must not load the model's weights")

    monkeypatch.setattr(_candidate, "load_model", no_weights)
    remote = ["--backend", "openai", "--base-url", server.url, "--served-model", "m"]
    out = tmp_path / "api.json"
    args = ["score", str(chat_model), "--suite", "general_v1", "--limit", "2", *remote, "--out", str(out)]
    assert main(args) == 0
    assert "drift/overall" in json.loads(out.read_text())


class _Served:
    """One tiny chat model, in process and behind the loopback server, for the contract suites."""

    folder: Path | None = None
    server: ChatServer | None = None

    @classmethod
    def get(cls, cache: Path) -> tuple[Path, ChatServer]:
        if cls.server is None:
            src = resolve_base(BaseModelSpec(name="builtin:tiny-llama", builtin=TINY), cache)
            import tempfile

            cls.folder = make_chat_model(Path(src), Path(tempfile.mkdtemp()) / "model")
            cls.server = ChatServer(str(cls.folder))
            threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        assert cls.folder is not None
        return cls.folder, cls.server


def _hf(cache: Path) -> HFGenerator:
    folder, _ = _Served.get(cache)
    model, tok = load_model(str(folder))
    return HFGenerator(model, tok, add_special_tokens=False, batch_size=None)


class TestHFGeneratorContract(GeneratorContract):
    @pytest.fixture(autouse=True)
    def _cache(self, model_cache: Path) -> None:
        self.cache = model_cache

    def generator(self) -> Generator:
        return _hf(self.cache)


class TestOpenAIGeneratorContract(GeneratorContract):
    @pytest.fixture(autouse=True)
    def _cache(self, model_cache: Path) -> None:
        self.cache = model_cache

    def generator(self) -> Generator:
        _, srv = _Served.get(self.cache)
        return OpenAIGenerator(srv.url, model="tiny-chat", concurrency=2)

    def reference(self) -> Generator:
        return _hf(self.cache)


class TestRayGeneratorContract(GeneratorContract):
    """The ray engine runs the hf backend's batches as Ray tasks: the same completions."""

    @pytest.fixture(autouse=True)
    def _cache(self, model_cache: Path) -> None:
        self.cache = model_cache

    def generator(self) -> Generator:
        from ftlineage.models._ray import RayGenerator

        folder, _ = _Served.get(self.cache)
        model, tok = load_model(str(folder))
        return RayGenerator(model, tok, add_special_tokens=False, batch_size=2, workers=2)

    def reference(self) -> Generator:
        folder, _ = _Served.get(self.cache)
        model, tok = load_model(str(folder))
        return HFGenerator(model, tok, add_special_tokens=False, batch_size=2)
