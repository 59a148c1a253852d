"""Every tag name ftlineage writes on runs and registry versions, in one place.

Writers and readers import these names; none is typed out elsewhere. Lineage digests are
``ftlineage.<what>_sha`` (see :func:`lineage_of`); the rest are grouped by who writes them.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "ftlineage."
SHA_SUFFIX = "_sha"

# lineage (one tag per LineageManifest digest; read back with lineage_of)
PROMPT_SHA = PREFIX + "prompt_sha"
DATASET_SHA = PREFIX + "dataset_sha"
SUITE_SHA = PREFIX + "suite_sha"
MODEL_SHA = PREFIX + "model_sha"
CODE_SHA = PREFIX + "code_sha"

# the main job's run
PID = PREFIX + "pid"
RESUME_KEY = PREFIX + "resume_key"
SUITE = PREFIX + "suite"
RECIPE = PREFIX + "recipe"
CONTEXT_ERROR = PREFIX + "context_error"
SUITE_NAME = PREFIX + "suite_name"
SUITE_VERSION = PREFIX + "suite_version"
SEED = PREFIX + "seed"
DECISION = PREFIX + "decision"
BLOCKED_AT = PREFIX + "blocked_at"
ERROR = PREFIX + "error"
BASELINE = PREFIX + "baseline"
BEST_STEP = PREFIX + "best_step"
DRIFT_WORST = PREFIX + "drift_worst"
DRIFT_RECOMMENDATION = PREFIX + "drift_recommendation"
TRAINING_STOPPED = PREFIX + "training_stopped"
STOP_REASON = PREFIX + "stop_reason"
UNSCORED_METRICS = PREFIX + "unscored_metrics"
PARAMS_KEPT = PREFIX + "params_kept_from_first_attempt"
HALF_PROMOTED = PREFIX + "half_promoted_versions"
CANDIDATE_MODEL_ID = PREFIX + "candidate_model_id"
REGISTERED_VERSION = PREFIX + "registered_version"
JUDGE = PREFIX + "judge"
REGISTRY_MODEL_NAME = PREFIX + "registry.model_name"
REGISTRY_ALIAS = PREFIX + "registry.alias"
REGISTRY_STAGES = PREFIX + "registry.stages"

# quantization tiers (child runs and their registered versions)
TIER = PREFIX + "tier"
TIER_OF = PREFIX + "tier_of"  # the full-precision run a tier was quantized from
TIERS = PREFIX + "tiers"  # on the full-precision run: name=decision, ...

# candidates (run and every registered version / prompt version)
CANDIDATE_KIND = PREFIX + "candidate_kind"  # trained | model | endpoint | prompt
ENDPOINT_URL = PREFIX + "endpoint_url"  # the URL without credentials
ENDPOINT_MODEL = PREFIX + "endpoint_model"  # the served model id
SHUTDOWN_DATE = PREFIX + "shutdown_date"  # the retirement date an endpoint reports, if any
PROMPT_SOURCE = PREFIX + "prompt_source"  # a prompt candidate: prompts:/... or the file it came from
PROMPT_BASELINE = PREFIX + "prompt_baseline"  # what it was compared with: @champion or the recipe
SOURCE_RUN = PREFIX + "source_run"  # a prompt version: the run whose gate passed it

# sweeps and seeds
STUDY = PREFIX + "study"
OPTUNA_STORAGE = PREFIX + "optuna_storage"
SWEEP_WORKERS = PREFIX + "sweep_workers"
TRIAL_NUMBER = PREFIX + "trial_number"
TRIAL_STATE = PREFIX + "trial_state"
BEST_TRIAL = PREFIX + "best_trial"
BEST_RUN_ID = PREFIX + "best_run_id"

# registry versions
PROMOTION = PREFIX + "promotion"
DECISION_SHA = PREFIX + "decision_sha"
DECISION_HMAC = PREFIX + "decision_hmac"
LEDGER = PREFIX + "ledger"
LEDGER_HMAC = PREFIX + "ledger_hmac"  # a protected alias's ledger entry, signed by the key holder

# the candidate identity a run's decision vouches for (signed by the job when it decides)
CANDIDATE_REF = PREFIX + "candidate_ref"  # the logged model id, or "prompt"
CANDIDATE_SHA = PREFIX + "candidate_sha"  # SHA-256 of the candidate's served content
CANDIDATE_HMAC = PREFIX + "candidate_hmac"

# checkpoints (logged models) and trace spans
CHOSEN = PREFIX + "chosen"
STEP = PREFIX + "step"
CASE_ID = PREFIX + "case_id"
PAIR = PREFIX + "pair"
SPAN_RUN = PREFIX + "run_id"  # on every span: finds a trace a killed process left half-written

# the canary run
CANARY = PREFIX + "canary"
CANARY_REASON = PREFIX + "canary_reason"
CANARY_ERROR = PREFIX + "canary_error"
CANARY_FAILED = PREFIX + "canary_failed_requests"  # the top failure cluster of a rollback
FAILURES_TOP = PREFIX + "failures_top"  # the failure feed's first cluster
FAILURES_ERROR = PREFIX + "failures_error"  # why a run has no failure feed
CANARY_MODEL = PREFIX + "canary_model"
CHAMPION_VERSION = PREFIX + "champion_version"
CHALLENGER_VERSION = PREFIX + "challenger_version"


def time_tag(stage: str) -> str:
    """``ftlineage.time.<stage>_s``: a stage's wall time in seconds."""
    return f"{PREFIX}time.{stage}_s"


def is_lineage(key: str) -> bool:
    """Whether a tag holds a lineage digest (``ftlineage.<what>_sha``)."""
    return key.startswith(PREFIX) and key.endswith(SHA_SUFFIX)


def lineage_of(tags: Mapping[str, str], *, strip: bool = False) -> dict[str, str]:
    """The lineage digests among ``tags`` (``strip``: keyed ``prompt_sha``, not ``ftlineage.prompt_sha``)."""
    return {(k.removeprefix(PREFIX) if strip else k): v for k, v in tags.items() if is_lineage(k)}


def lineage_tags(values: Mapping[str, object]) -> dict[str, str]:
    """``{"prompt_sha": v}`` -> ``{"ftlineage.prompt_sha": v}``; empty values left out."""
    return {PREFIX + k: str(v) for k, v in values.items() if v not in ("", None)}
