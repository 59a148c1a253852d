"""Conformance suite for a quantizer (:class:`~ftlineage.tiers.Quantizer`, group ``ftlineage.quantizers``).

Subclass it, provide the quantizer and a ``source`` fixture (a saved full-precision model
folder), and list tiers it must produce and one it must refuse::

    class TestMyQuantizer(QuantizerContract):
        tiers = ("int8", {"name": "w4", "quantizer": "mine", "bits": 4, "group_size": 64})
        refused = "nf4"

        def quantizer(self):
            return MyQuantizer()

        @pytest.fixture
        def source(self, tmp_path):
            ...  # save a small model with save_pretrained and return the folder

Everything runs on CPU unless ``device`` says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from ftlineage.errors import FtlineageError
from ftlineage.tiers import Quantizer, TierSpec, fidelity, weights_sha, weights_size

IDS = [[1, 5, 9, 13, 17, 21, 25, 29, 2, 4, 6, 8]]


class QuantizerContract:
    """Subclass and implement :meth:`quantizer` and the ``source`` fixture."""

    tiers: ClassVar[tuple[str | dict[str, Any], ...]] = ("int8",)
    refused: ClassVar[str | dict[str, Any] | None] = None
    device: ClassVar[str] = "cpu"
    max_kl: ClassVar[float] = 0.5  # nats: a tier this far from its source is not quantized, it is broken

    def quantizer(self) -> Quantizer:
        """The quantizer under test."""
        raise NotImplementedError

    def _quantize(self, source: Path, tier: Any, out: Path) -> Any:
        spec = TierSpec.model_validate(tier)
        quantizer = self.quantizer()
        quantizer.check(spec, self.device)
        out.mkdir(parents=True, exist_ok=True)
        return quantizer.quantize(source, spec, out, device=self.device)

    def test_is_a_quantizer(self) -> None:
        """It satisfies the protocol, names itself and its library version."""
        q = self.quantizer()
        assert isinstance(q, Quantizer)
        assert q.name
        assert "==" in q.version or "not installed" in q.version

    def test_writes_a_folder_transformers_loads_as_the_same_model(self, source: Path, tmp_path: Path) -> None:
        """The saved tier reloads with ``from_pretrained`` and answers exactly as the returned model."""
        import torch
        from transformers import AutoModelForCausalLM

        for i, tier in enumerate(self.tiers):
            out = tmp_path / f"tier{i}"
            model = self._quantize(source, tier, out)
            assert weights_size(out) > 0, f"{tier}: no weight files in {out}"
            again = AutoModelForCausalLM.from_pretrained(str(out)).eval()
            ids = torch.tensor(IDS)
            with torch.no_grad():
                assert torch.allclose(model(ids).logits, again(ids).logits, atol=1e-5), tier

    def test_stays_close_to_its_source(self, source: Path, tmp_path: Path) -> None:
        """Next-token KL against the full-precision source stays under ``max_kl``; top-1 mostly agrees."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        full = AutoModelForCausalLM.from_pretrained(str(source)).eval()
        tok = AutoTokenizer.from_pretrained(str(source))
        texts = [("Extract the name: ", "Ann called on Friday."), ("Hello", " there, how are you?")]
        for i, tier in enumerate(self.tiers):
            fid = fidelity(full, self._quantize(source, tier, tmp_path / f"t{i}"), tok, texts)
            assert fid.positions > 0
            assert 0 <= fid.mean_kl < self.max_kl, (tier, fid)
            assert fid.top1_agreement > 0.5, (tier, fid)

    def test_is_deterministic(self, source: Path, tmp_path: Path) -> None:
        """The same source and tier give the same weights, byte for byte."""
        tier = self.tiers[0]
        self._quantize(source, tier, tmp_path / "a")
        self._quantize(source, tier, tmp_path / "b")
        assert weights_sha(tmp_path / "a") == weights_sha(tmp_path / "b")

    def test_refuses_what_it_cannot_produce(self) -> None:
        """``check`` refuses ``refused`` with an error that names the tier."""
        if self.refused is None:
            return
        spec = TierSpec.model_validate(self.refused)
        with pytest.raises(FtlineageError, match=spec.name):
            self.quantizer().check(spec, self.device)
