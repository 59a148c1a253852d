"""The failure feed of a run: read what its stages wrote, cluster, log ``failures/`` to the run.

One reader serves the job (its own files, before they are read back) and ``ftlineage
failures RUN_ID`` (the run's artifacts in any MLflow store): both pass a ``read(path)`` that
returns an artifact's text or ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage import failures, suites
from ftlineage.errors import BadInputError
from ftlineage.failures import FailedCase, FailureFeed
from ftlineage.logging import get_logger
from ftlineage.readers import parse_versioned
from ftlineage.recipe import FailuresSpec
from ftlineage.scoring import SuiteScores

logger = get_logger(__name__)
Read = Callable[[str], "str | None"]
AGAINST = ("baseline", "base", "champion")
FEED_DIR = "failures"


@dataclass(frozen=True)
class RunFiles:
    """Where a run's stage outputs are read from, and what is known of the run beside them."""

    run_id: str
    read: Read
    prompts: dict[str, str]
    traces: dict[str, str]  # trace name ("checkpoint-80", "arena") -> trace id
    best_step: str | None = None
    baseline_label: str = "base"


def _scores(files: RunFiles, path: str) -> SuiteScores | None:
    text = files.read(path)
    return parse_versioned(SuiteScores, text, f"run {files.run_id}: {path}") if text else None


def _jsonl(text: str | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (text or "").splitlines() if line.strip()]


def baseline_scores(
    files: RunFiles, against: str, champion: Callable[[], tuple[str, SuiteScores] | None]
) -> tuple[str, SuiteScores | None]:
    """The scores flips are measured against, and their label.

    ``baseline``: what the gate compared with (``scores/gate_baseline.json`` when the champion
    was the baseline, else the base); ``base``: the base model; ``champion``: the registry's
    current champion, as ``champion()`` reads it.
    """
    if against not in AGAINST:
        raise BadInputError(f"--against {against!r}: use one of {', '.join(AGAINST)}")
    if against == "champion":
        found = champion()
        if found is None:
            raise BadInputError(f"run {files.run_id}: no @champion with recorded scores; use --against base")
        return found
    if against == "baseline":
        gate = _scores(files, "scores/gate_baseline.json")
        if gate is not None:
            return files.baseline_label, gate
    return "base", _scores(files, "scores/baseline.json")


def collect(files: RunFiles, baseline: SuiteScores | None, pass_mark: float) -> list[FailedCase]:
    """Every failed case the run's files hold: scored cases, arena losses, audit rows."""
    items: list[FailedCase] = []
    candidate = _scores(files, "scores/candidate.json")
    if candidate is not None:
        trace = files.traces.get(f"checkpoint-{files.best_step}") if files.best_step else None
        items += failures.from_scores(candidate, baseline, files.prompts, pass_mark=pass_mark, trace_id=trace)
    items += failures.from_arena(
        _jsonl(files.read("arena/judgements.jsonl")), files.prompts, trace_id=files.traces.get("arena")
    )
    items += failures.from_audit(_jsonl(files.read("audit/failed_rows.jsonl")))
    return items


def make_fixer(spec: FailuresSpec, cache_dir: Path, key: bytes | None) -> failures.Fixer:
    """The rules table, or a model fixer over an arena judge backend with its cache."""
    if spec.fixer == "rules":
        return failures.RuleFixer()
    from ftlineage.arena import HFChat, OpenAIChat

    options = dict(spec.fixer_options)
    template = str(options.pop("prompt", failures.PROMPT))
    try:
        backend = OpenAIChat(**options) if spec.fixer == "openai" else HFChat(**options)
        return failures.LLMFixer(
            backend, failures.FixCache(cache_dir / "fixes.sqlite", key), name=spec.fixer, template=template
        )
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"failures.fixer_options {spec.fixer_options}: {exc}") from None


def build(
    files: RunFiles,
    spec: FailuresSpec,
    *,
    fixer: failures.Fixer,
    champion: Callable[[], tuple[str, SuiteScores] | None] = lambda: None,
    canary: tuple[str, list[FailedCase]] | None = None,
    lineage: dict[str, str] | None = None,
) -> FailureFeed:
    """The run's feed (with a canary run's alarmed pairs when given)."""
    from ftlineage.audit import BUNDLED_MODEL, get_embedder

    label, baseline = baseline_scores(files, spec.against, champion)
    items = collect(files, baseline, spec.pass_mark)
    if canary is not None:
        items += canary[1]
    options = failures.ClusterOptions(min_cluster_size=spec.min_cluster_size)
    embedder = get_embedder(BUNDLED_MODEL) if items else _NoEmbedder()
    return failures.build_feed(
        items,
        embedder,
        run_id=files.run_id,
        against=label,
        options=options,
        fixer=fixer,
        canary_run=canary[0] if canary else None,
        lineage=lineage,
    )


class _NoEmbedder:
    """Nothing failed: nothing to embed, no model to load."""

    name = "all-MiniLM-L6-v2"

    def encode(self, texts: Any) -> Any:
        raise AssertionError("nothing to embed")


def write_feed(out: Path, feed: FailureFeed) -> list[Path]:
    """``feed.json`` and ``feed.html`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "feed.json", out / "feed.html"
    json_path.write_text(feed.model_dump_json(indent=1), encoding="utf-8")
    html_path.write_text(failures.render_html(feed), encoding="utf-8")
    return [json_path, html_path]


def canary_pairs(traces: list[Any]) -> list[dict[str, Any]]:
    """The judged pairs of a canary run, from its ``canary-pair`` traces (see ``RegistryHooks``)."""
    out = []
    for trace in traces:
        spans = {s.name: s for s in trace.data.spans}
        judge = spans.get("judge")
        if judge is None:
            continue
        outcome = dict(judge.outputs or {})
        rubrics: dict[str, dict[str, float]] = {}
        for key, value in outcome.items():
            arm, _, name = key.partition("/")
            if name and isinstance(value, (int, float)):
                rubrics.setdefault(arm, {})[name] = float(value)
        answers = {
            arm: (spans[f"generate/{arm}"].outputs or {}).get("output")
            for arm in ("champion", "challenger")
            if f"generate/{arm}" in spans
        }
        prompt = (
            (spans["generate/challenger"].inputs or {}).get("prompt", "")
            if "generate/challenger" in spans
            else ""
        )
        out.append(
            {
                "key": (judge.inputs or {}).get("key", trace.info.trace_id),
                "prompt": prompt,
                "outcome": outcome.get("outcome"),
                "rubrics": rubrics,
                "trace_id": trace.info.trace_id,
                **answers,
            }
        )
    return out


def _traces(client: Any, run_id: str, *, spans: bool) -> list[Any]:
    """Every trace of a run (all pages)."""
    exp = client.get_run(run_id).info.experiment_id
    out: list[Any] = []
    token = None
    while True:
        page = client.search_traces(
            locations=[exp], run_id=run_id, include_spans=spans, max_results=500, page_token=token, flush=True
        )
        out += list(page)
        token = page.token
        if not token:
            return out


def trace_names(client: Any, run_id: str) -> dict[str, str]:
    """Trace name (``checkpoint-80``, ``arena``) -> trace id, for a run's traces."""
    return {
        t.info.tags.get("mlflow.traceName", ""): t.info.trace_id for t in _traces(client, run_id, spans=False)
    }


def mlflow_run_files(client: Any, run_id: str) -> RunFiles:
    """A run's stage outputs as its artifacts in the tracking store."""
    from ftlineage import tags as T
    from ftlineage.tracking import get_run_or_fail, read_artifact_text

    run = get_run_or_fail(client, run_id, "pass a run id the job printed")
    tags = run.data.tags
    names = trace_names(client, run_id)
    return RunFiles(
        run_id=run_id,
        read=lambda path: read_artifact_text(client, run_id, path),
        prompts=suites.inputs_of(tags.get(T.SUITE)),
        traces=names,
        best_step=tags.get(T.BEST_STEP),
        baseline_label=tags.get(T.BASELINE, "base"),
    )


def mlflow_champion(client: Any, run_id: str, alias: str = "champion") -> tuple[str, SuiteScores] | None:
    """The current ``@alias`` version of the run's registered model and its recorded scores."""
    from mlflow.exceptions import MlflowException

    from ftlineage import tags as T
    from ftlineage.tracking import read_artifact_text

    name = client.get_run(run_id).data.tags.get(T.REGISTRY_MODEL_NAME)
    if not name:
        return None
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    text = read_artifact_text(client, mv.run_id, "scores/candidate.json") if mv.run_id else None
    if not text:
        return None
    return f"{alias}:v{mv.version}", parse_versioned(
        SuiteScores, text, f"run {mv.run_id}: scores/candidate.json"
    )


def mlflow_canary(client: Any, run_id: str) -> tuple[str, list[FailedCase]]:
    """A canary run's alarmed pairs (judged losses of the challenger)."""
    from ftlineage.tracking import get_run_or_fail

    get_run_or_fail(client, run_id, "pass the id of the canary's run to --canary")
    named = [
        t for t in _traces(client, run_id, spans=True) if t.info.tags.get("mlflow.traceName") == "canary-pair"
    ]
    if not named:
        raise BadInputError(
            f"--canary {run_id}: that run has no canary-pair traces; pass the canary's run id"
        )
    return run_id, failures.from_canary(canary_pairs(named))


def failures_stage(ctx: Any, best_step: int | None, baseline_label: str, *, quiet: bool) -> str:
    """The job's feed: built from the files its stages wrote, logged under ``failures/``.

    Returns the top clusters as text for the terminal (``""`` when quiet, disabled or nothing
    failed). The feed is a diagnosis, not a gate: if it cannot be built the run keeps its
    decision, and the error is logged and tagged.
    """
    from ftlineage import tags as T
    from ftlineage.tracking import primary_mlflow

    spec: FailuresSpec = ctx.recipe.failures
    if not spec.enabled:
        return ""
    mlflow_tracker = primary_mlflow(ctx.tracker)
    try:
        files = RunFiles(
            run_id=ctx.tracker.run_id,
            read=lambda p: (ctx.out / p).read_text(encoding="utf-8") if (ctx.out / p).is_file() else None,
            prompts=ctx.suite.inputs(),
            traces=trace_names(mlflow_tracker.client, mlflow_tracker.run_id) if mlflow_tracker else {},
            best_step=str(best_step) if best_step is not None else None,
            baseline_label=baseline_label,
        )
        alias = ctx.recipe.registry.champion_alias
        champion = (
            (lambda: mlflow_champion(mlflow_tracker.client, files.run_id, alias))
            if mlflow_tracker
            else (lambda: None)
        )
        fixer = make_fixer(spec, ctx.settings.cache_dir, ctx.settings.gate_key)
        feed = build(files, spec, fixer=fixer, champion=champion, lineage=ctx.lineage.tags())
    except Exception as exc:  # noqa: BLE001 - a diagnosis that fails must not change the run's decision
        logger.warning("failure feed not built: %s", exc)
        ctx.tracker.set_tags({T.FAILURES_ERROR: str(exc)[:500]})
        return ""
    for path in write_feed(ctx.stage_dir(FEED_DIR), feed):
        ctx.tracker.log_artifact(path, FEED_DIR)
    from ftlineage.pipeline._stages import record_values

    record_values(ctx, {"failures/cases": len(feed.cases), "failures/clusters": len(feed.clusters)})
    if feed.clusters:
        ctx.tracker.set_tags({T.FAILURES_TOP: feed.clusters[0].name[:250]})
    logger.info("failures: %s (failures/feed.html)", failures.headline(feed))
    return "" if quiet or not feed.cases else failures.render_text(feed, spec.top)
