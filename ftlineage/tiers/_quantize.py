"""Producing a tier with a maintained quantization library (entry points ``ftlineage.quantizers``).

ftlineage quantizes nothing itself. ``torchao`` (weight-only int8 per channel, int1..7 in
groups; CPU and GPU) is the default; ``bitsandbytes`` (NF4, LLM.int8) runs on CUDA only. A
third-party library plugs in as an entry point of the group ``ftlineage.quantizers`` whose
object satisfies :class:`Quantizer`; ``ftlineage.testing.QuantizerContract`` checks it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ftlineage.errors import BadInputError, missing_dependency
from ftlineage.tiers._spec import TierSpec, check_group

ENTRY_POINT_GROUP = "ftlineage.quantizers"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


@runtime_checkable
class Quantizer(Protocol):
    """Turns a saved full-precision model folder into a saved quantized one.

    Contract:
        * ``check(spec, device)`` raises :class:`~ftlineage.errors.BadInputError` (or
          ``MissingDependencyError``) naming the tier and the fix when this quantizer cannot
          produce ``spec`` on ``device``; it is called before the job writes anything, so a
          bad tier fails in seconds, not after training.
        * ``quantize(source, spec, out, device=...)`` writes to ``out`` a folder that
          ``transformers.AutoModelForCausalLM.from_pretrained(out)`` loads as the quantized
          model (the weights as the library stores them, so their size and SHA-256 are the
          tier's); tokenizer and prompt-format files are copied by the caller. It returns the
          loaded quantized model, in eval mode. It is deterministic: the same source and spec
          give the same weights.
        * ``version`` names the library and its version (recorded with every tier).
    """

    name: str

    @property
    def version(self) -> str:
        """``<library>==<version>``."""
        ...

    def check(self, spec: TierSpec, device: str) -> None:
        """Raise when ``spec`` cannot be produced on ``device``."""
        ...

    def quantize(self, source: Path, spec: TierSpec, out: Path, *, device: str) -> Any:
        """Quantize the model saved in ``source`` into ``out``; return the quantized model."""
        ...


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{package}=={version(package)}"
    except PackageNotFoundError:
        return f"{package} (not installed)"


def import_torchao() -> Any:
    """torchao, or the install hint (its CPU-build warnings are quieted by ``import ftlineage``)."""
    try:
        import torchao
    except ImportError:
        raise missing_dependency("torchao", "quantization tiers") from None
    return torchao


def _load_quantized(source: Path, config: Any, device: str, dtype: Any) -> Any:
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype, "quantization_config": config}
    if device != "cpu":
        kwargs["device_map"] = {"": device}
    model = AutoModelForCausalLM.from_pretrained(str(source), **kwargs)
    model.eval()
    return model


class TorchAoQuantizer:
    """torchao weight-only quantization through ``transformers.TorchAoConfig``.

    ``bits: 8`` without a group is ``Int8WeightOnlyConfig`` (one scale per output channel); any
    other width is ``IntxWeightOnlyConfig(weight_dtype=torch.int<b>, granularity=PerGroup(g)
    or PerAxis(0))``. ``options`` are passed to the config as is (e.g. ``mapping_type``). On
    CPU the int1..7 values are stored unpacked in int8 (torchao's portable layout), so such a
    tier is not smaller on disk than int8; the figures say so.
    """

    name = "torchao"

    @property
    def version(self) -> str:
        """The installed torchao."""
        return _version("torchao")

    def check(self, spec: TierSpec, device: str) -> None:
        """The torchao config must build; an NF4 scheme belongs to bitsandbytes."""
        if spec.scheme != "int":
            raise BadInputError(
                f"tier {spec.name!r}: torchao quantizes integer schemes, not {spec.scheme!r}; "
                "use quantizer: bitsandbytes for nf4"
            )
        self._config(spec)

    def _config(self, spec: TierSpec) -> Any:
        import torch

        import_torchao()
        from torchao.quantization import Int8WeightOnlyConfig, IntxWeightOnlyConfig
        from torchao.quantization.granularity import PerAxis, PerGroup

        try:
            if spec.bits == 8 and spec.group_size is None:
                return Int8WeightOnlyConfig(**spec.options)
            granularity = PerGroup(spec.group_size) if spec.group_size else PerAxis(0)
            dtype = getattr(torch, f"int{spec.bits}")
            return IntxWeightOnlyConfig(weight_dtype=dtype, granularity=granularity, **spec.options)
        except TypeError as exc:
            raise BadInputError(
                f"tier {spec.name!r}: torchao refuses options {spec.options}: {exc}"
            ) from None

    def quantize(self, source: Path, spec: TierSpec, out: Path, *, device: str) -> Any:
        """Load ``source`` quantized by torchao and save it with safetensors."""
        import torch
        from transformers import AutoConfig, TorchAoConfig

        try:
            check_group(spec, AutoConfig.from_pretrained(str(source)))
        except ValueError as exc:
            raise BadInputError(str(exc)) from None

        model = _load_quantized(source, TorchAoConfig(quant_type=self._config(spec)), device, torch.float32)
        model.save_pretrained(str(out))
        return model


class BitsAndBytesQuantizer:
    """bitsandbytes NF4 (``scheme: nf4``) or LLM.int8 (``bits: 8``); needs a CUDA GPU."""

    name = "bitsandbytes"

    @property
    def version(self) -> str:
        """The installed bitsandbytes."""
        return _version("bitsandbytes")

    def check(self, spec: TierSpec, device: str) -> None:
        """CUDA and bitsandbytes must be there; only NF4 and int8 exist."""
        if device != "cuda":
            raise BadInputError(
                f"tier {spec.name!r}: bitsandbytes quantizes on a CUDA GPU, and this job runs on {device}; "
                "use a torchao tier (int8, int4) or tier_gate.device: cuda on a GPU machine"
            )
        if not (spec.scheme == "nf4" or spec.bits == 8):
            raise BadInputError(
                f"tier {spec.name!r}: bitsandbytes has nf4 and 8-bit, not {spec.bits}-bit int"
            )
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise missing_dependency("bitsandbytes", f"tier {spec.name!r}") from None

    def quantize(self, source: Path, spec: TierSpec, out: Path, *, device: str) -> Any:
        """Load ``source`` through ``BitsAndBytesConfig`` and save it."""
        import torch
        from transformers import BitsAndBytesConfig

        if spec.scheme == "nf4":
            config = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_compute_dtype=torch.bfloat16,
                **spec.options,
            )
        else:
            config = BitsAndBytesConfig(load_in_8bit=True, **spec.options)
        model = _load_quantized(source, config, device, torch.bfloat16)
        model.save_pretrained(str(out))
        return model


def available_quantizers() -> dict[str, Any]:
    """Quantizers by name, from the ``ftlineage.quantizers`` entry-point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def get_quantizer(name: str) -> Quantizer:
    """The quantizer an entry point names; an unknown name lists the valid ones."""
    found = available_quantizers()
    if name not in found:
        raise BadInputError(f"unknown quantizer {name!r}: valid quantizers are {', '.join(sorted(found))}")
    made = found[name].load()
    quantizer = made() if isinstance(made, type) else made
    if not isinstance(quantizer, Quantizer):
        raise BadInputError(
            f"quantizer {name!r} ({found[name].value}) does not satisfy ftlineage.tiers.Quantizer"
        )
    return quantizer


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a saved model, in name order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))


def weights_size(folder: Path) -> int:
    """Bytes of weights on disk (config and tokenizer files excluded)."""
    return sum(p.stat().st_size for p in weight_files(folder))


def weights_sha(folder: Path) -> str:
    """SHA-256 over the canonical bytes of the saved weights: the tier's ``model_sha``.

    A safetensors file's header is a JSON object whose key order the writer does not fix, so
    it is hashed as its tensors in name order (name, dtype, shape, bytes) and its metadata as
    sorted JSON; any other weight file as its raw bytes.
    """
    import hashlib

    digest = hashlib.sha256(b"ftlineage.tier-weights\0")
    for path in weight_files(folder):
        digest.update(f"{path.name}\0".encode())
        if path.suffix == ".safetensors":
            _hash_safetensors(path, digest)
            continue
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _hash_safetensors(path: Path, digest: Any) -> None:
    import json
    import struct

    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
        start = 8 + size
        meta = header.pop("__metadata__", {})
        digest.update(json.dumps(meta, sort_keys=True).encode() + b"\0")
        for name in sorted(header):
            info = header[name]
            lo, hi = info["data_offsets"]
            digest.update(f"{name}\0{info['dtype']}\0{info['shape']}\0{hi - lo}\0".encode())
            handle.seek(start + lo)
            left = hi - lo
            while left:
                block = handle.read(min(left, 1 << 20))
                if not block:
                    raise BadInputError(f"{path}: truncated safetensors file (tensor {name!r})")
                digest.update(block)
                left -= len(block)


def copy_companions(source: Path, out: Path) -> None:
    """Tokenizer, prompt-format and other non-weight files of ``source`` that ``out`` lacks."""
    for path in source.iterdir():
        if path.is_file() and not path.name.endswith(WEIGHT_SUFFIXES) and not (out / path.name).exists():
            shutil.copy2(path, out / path.name)


def produce_tier(spec: TierSpec, source: Path, out: Path, *, device: str) -> tuple[Any, Quantizer, float]:
    """Quantize ``source`` into a fresh ``out`` with the tier's library, companions copied.

    Returns the quantized model, the quantizer (its ``version`` names the library) and the
    seconds the library took. ``check`` runs first, so a tier it refuses fails before any work.
    """
    import time

    quantizer = get_quantizer(spec.quantizer)
    quantizer.check(spec, device)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    start = time.perf_counter()
    model = quantizer.quantize(source, spec, out, device=device)
    seconds = time.perf_counter() - start
    copy_companions(source, out)
    return model, quantizer, seconds
