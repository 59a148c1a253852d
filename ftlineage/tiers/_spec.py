"""What a tier is (``int8``, ``int4``, ``nf4`` ...) and the rule a tier passes by.

A tier is written in a recipe as a short name or a mapping::

    tiers: [int8, int4]                     # torchao weight-only, per channel / groups of 32
    tiers:
      - int4-g128                           # 4-bit, groups of 128
      - {name: int4-cuda, quantizer: torchao, bits: 4, group_size: 128}
      - nf4                                 # bitsandbytes NF4 (CUDA only)

Short names: ``int8`` (per output channel), ``int<b>`` for b in 1..7 (groups of 32),
``int<b>-g<k>`` (groups of k), ``nf4`` and ``bnb-int8`` (bitsandbytes, CUDA).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_SHORT = re.compile(r"^int(?P<bits>[1-8])(?:-g(?P<group>\d{1,9}))?$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
SHORT_NAMES = ("int8", "int4", "int<b>", "int<b>-g<k>", "nf4", "bnb-int8")


class TierSpec(BaseModel):
    """One quantized tier of the candidate: which library quantizes it, and how coarsely."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(description="the tier's name: the registry tag ftlineage.tier and alias suffix")
    quantizer: str = Field("torchao", description="an entry point of ftlineage.quantizers")
    bits: int = Field(8, ge=1, le=8, description="weight bits")
    group_size: int | None = Field(
        None, gt=0, description="weights sharing one scale along the input dim; none: one per channel"
    )
    scheme: Literal["int", "nf4"] = "int"
    options: dict[str, Any] = Field({}, description="passed to the quantizer as is")

    @model_validator(mode="before")
    @classmethod
    def _short_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_short(value)
        return value

    @model_validator(mode="after")
    def _valid_name(self) -> TierSpec:
        if not NAME.match(self.name):
            raise ValueError(
                f"tier name {self.name!r} must be lower-case letters, digits, '-' or '_' (it becomes "
                "a registry alias suffix, e.g. challenger-int8)"
            )
        return self


def parse_short(name: str) -> dict[str, Any]:
    """The fields a short tier name stands for; an unknown one lists the valid forms."""
    text = name.strip().lower()
    if text == "nf4":
        return {"name": "nf4", "quantizer": "bitsandbytes", "bits": 4, "scheme": "nf4"}
    if text == "bnb-int8":
        return {"name": "bnb-int8", "quantizer": "bitsandbytes", "bits": 8}
    match = _SHORT.match(text)
    if not match:
        raise ValueError(f"unknown tier {name!r}; write one of {', '.join(SHORT_NAMES)} or a mapping")
    bits = int(match["bits"])
    group = int(match["group"]) if match["group"] else (None if bits == 8 else 32)
    return {"name": text, "quantizer": "torchao", "bits": bits, "group_size": group}


class TierGateSpec(BaseModel):
    """The rule each tier passes by, against the full-precision candidate (not the base).

    Default "recovery": no tracked metric below ``1 - max_loss`` of the full-precision value,
    judged on the paired bootstrap's bound (``lenient``: block only when the data is sure of a
    loss beyond it; ``strict``: block unless the data is sure the loss stays within it); no
    drift family losing more than ``drift_fail_points``; and, with ``arena``, the tier's win
    rate against full precision not sure to lie below ``arena_upper_bound`` (a tier must not be
    reliably worse; it need not be better). Fidelity floors (``max_kl``, ``min_top1``) are off
    unless set; the figures are reported either way.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_loss: float = Field(0.05, ge=0, lt=1, description="0.05: recover 95% of each tracked metric")
    bound: Literal["lenient", "strict"] = "lenient"
    drift_fail_points: float = Field(5.0, ge=0)
    arena: bool = Field(True, description="judge each tier against full precision in the arena")
    arena_upper_bound: float = Field(0.5, gt=0, lt=1)
    max_kl: float | None = Field(None, gt=0, description="block above this mean next-token KL (nats)")
    min_top1: float | None = Field(None, gt=0, le=1, description="block below this top-1 agreement")
    fidelity_cases: int = Field(64, ge=1, description="prompts for KL and top-1 agreement")
    bootstrap_samples: int = Field(1000, ge=100)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="where tiers are quantized and scored")


def tier_list(value: Any) -> Any:
    """The recipe's ``tiers:`` as a list: one short name, or a comma-separated string, becomes a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def unique_names(tiers: tuple[TierSpec, ...]) -> tuple[TierSpec, ...]:
    """Refuse two tiers with one name (each is a registry alias suffix)."""
    seen: set[str] = set()
    for tier in tiers:
        if tier.name in seen:
            raise ValueError(f"tier {tier.name!r} is listed twice; give each tier its own name")
        seen.add(tier.name)
    return tiers


def linear_inputs(config: Any) -> dict[str, int]:
    """The input widths a transformer's linear layers have, from its config (the ones it declares)."""
    text = getattr(config, "text_config", None) or config
    out = {k: int(getattr(text, k)) for k in ("hidden_size", "intermediate_size") if getattr(text, k, None)}
    heads, head_dim = getattr(text, "num_attention_heads", None), getattr(text, "head_dim", None)
    if heads and head_dim:
        out["num_attention_heads*head_dim"] = int(heads) * int(head_dim)
    return out


def check_group(spec: TierSpec, config: Any) -> None:
    """A group size must divide every linear layer's input width, or the library cannot quantize it."""
    if not spec.group_size:
        return
    for key, width in linear_inputs(config).items():
        if width % spec.group_size:
            fits = [
                g
                for g in (16, 32, 64, 128, 256)
                if width % g == 0 and all(w % g == 0 for w in linear_inputs(config).values())
            ]
            hint = f" (e.g. int{spec.bits}-g{fits[-1]})" if fits else " or no group (per channel)"
            raise ValueError(
                f"tier {spec.name!r}: group size {spec.group_size} does not divide the model's {key} "
                f"{width}; pick a group size that divides every layer width{hint}"
            )
