"""Fakes that ship: a scripted judge, an in-memory tracker and an in-memory registry.

Each satisfies the same contract as the real adapter (``Judge``, ``Tracker``, ``Registry``) and
passes the same conformance suite, so a test that uses one exercises the contract, not a mock.
The scripted judge is registered like a real one (``get_judge("scripted", rule=...)``), as
inspect_ai ships ``mockllm``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftlineage.arena import Judgement
from ftlineage.lineage import sha256_json
from ftlineage.tracking import LoadedModel, ModelVersion, Span, as_span

__all__ = ["InMemoryRegistry", "InMemoryTracker", "ScriptedJudge", "scripted_judge"]

Rule = Callable[[str, str, str], str]


def _first(prompt: str, first: str, second: str) -> str:
    return "first"


class ScriptedJudge:
    """A judge whose picks follow ``rule(prompt, first, second)``; counts its calls (thread-safe).

    ``rule`` returns ``"first"``, ``"second"``, ``"tie"`` or ``"unscored"``. ``params`` is part
    of the verdict cache key like a real judge's.
    """

    name, version = "scripted", "1"

    def __init__(
        self, rule: Rule = _first, *, family: str = "scripted", params: dict[str, Any] | None = None
    ):
        self.rule, self.family = rule, family
        self.params = params if params is not None else {"rule": getattr(rule, "__name__", "rule")}
        self.calls = 0
        self._lock = threading.Lock()

    def judge(self, prompt: str, first: str, second: str) -> Judgement:
        """The rule's pick."""
        with self._lock:
            self.calls += 1
        return Judgement(self.rule(prompt, first, second), "scripted")  # type: ignore[arg-type]


def scripted_judge(pick: str = "first", *, suite: Any = None) -> ScriptedJudge:
    """The ``scripted`` judge entry point: always ``pick`` (``first``, ``second``, ``tie``, ``unscored``)."""
    from ftlineage.errors import BadInputError

    if pick not in ("first", "second", "tie", "unscored"):
        raise BadInputError(f"scripted judge: pick {pick!r} is not one of first, second, tie, unscored")
    return ScriptedJudge(lambda p, a, b: pick, params={"pick": pick})


@dataclass
class InMemoryTracker:
    """A :class:`~ftlineage.tracking.Tracker` that keeps everything in memory (first value per step wins)."""

    run_id: str = "memory-run"
    metrics: dict[str, dict[int, float]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    artifacts: list[tuple[Path, str | None]] = field(default_factory=list)
    traces: dict[str, list[Span]] = field(default_factory=dict)
    status: str = "RUNNING"

    def log_metrics(self, metrics: dict[str, float], *, step: int) -> None:
        """Keep each value; a NaN is skipped and counted in ``ftlineage.unscored_metrics``."""
        from ftlineage import tags as T

        for name, value in metrics.items():
            if isinstance(value, float) and math.isnan(value):
                names = set(filter(None, self.tags.get(T.UNSCORED_METRICS, "").split(",")))
                self.tags[T.UNSCORED_METRICS] = ",".join(sorted(names | {name}))
                continue
            self.metrics.setdefault(name, {}).setdefault(step, float(value))

    def set_tags(self, tags: dict[str, str]) -> None:
        """Set tags."""
        self.tags.update({k: str(v) for k, v in tags.items()})

    def log_params(self, params: dict[str, Any]) -> None:
        """Keep params as strings."""
        self.params.update({k: str(v) for k, v in params.items()})

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Remember the upload."""
        self.artifacts.append((Path(path), artifact_path))

    def log_trace(
        self,
        name: str,
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        """Keep the spans, each with the trace's attributes under its own."""
        kept = [as_span(s) for s in spans]
        self.traces[name] = [
            Span(
                s.name, s.type, s.inputs, s.outputs, {**attributes, **s.attributes}, s.children, s.assessments
            )
            for s in kept
        ]
        return name

    def flush(self) -> None:
        """Nothing is queued."""

    def finish(self, status: str) -> None:
        """Record the final status."""
        self.status = status


@dataclass
class _Model:
    versions: dict[str, ModelVersion] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    next_version: int = 1


class InMemoryRegistry:
    """A :class:`~ftlineage.tracking.Registry` in memory (thread-safe), with runs and their files.

    Seed runs with :meth:`add_run`; ``load`` returns what :meth:`add_loadable` registered.
    """

    kind = "model"

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.RLock()
        self._models: dict[str, _Model] = {}
        self._claims: dict[str, tuple[dict[str, str], float]] = {}
        self._runs: dict[str, dict[str, str]] = {}
        self._files: dict[tuple[str, str], str] = {}
        self._loadable: dict[tuple[str, str], LoadedModel] = {}

    def add_run(
        self, run_id: str, tags: Mapping[str, str] | None = None, files: Mapping[str, str] | None = None
    ) -> None:
        """A run with tags and text artifacts (path → text)."""
        with self._lock:
            self._runs[run_id] = dict(tags or {})
            self._files.update({(run_id, p): t for p, t in (files or {}).items()})

    def add_loadable(self, name: str, version: str, loaded: LoadedModel) -> None:
        """What ``load(name, version)`` returns."""
        self._loadable[(name, version)] = loaded

    def _model(self, name: str) -> _Model:
        if name not in self._models:
            raise KeyError(f"no registered model {name!r}")
        return self._models[name]

    def ensure_model(self, name: str, description: str = "") -> None:
        """Create the model unless it exists."""
        with self._lock:
            self._models.setdefault(name, _Model())

    def create_version(
        self, name: str, *, source: str, run_id: str, tags: Mapping[str, str], description: str
    ) -> ModelVersion:
        """The next version number, with its tags."""
        with self._lock:
            model = self._model(name)
            number, model.next_version = str(model.next_version), model.next_version + 1
            mv = ModelVersion(name, number, source, run_id, dict(tags))
            model.versions[number] = mv
            model.descriptions[number] = description
            return mv

    def get_version(self, name: str, version: str) -> ModelVersion | None:
        """One version, or ``None``."""
        with self._lock:
            model = self._models.get(name)
            return model.versions.get(version) if model else None

    def find_versions(
        self, name: str, *, run_id: str | None = None, tag: tuple[str, str] | None = None
    ) -> list[ModelVersion]:
        """Versions oldest first, filtered."""
        with self._lock:
            model = self._models.get(name)
            found = list(model.versions.values()) if model else []
        found = [v for v in found if run_id is None or v.run_id == run_id]
        found = [v for v in found if tag is None or v.tags.get(tag[0]) == tag[1]]
        return sorted(found, key=lambda v: int(v.version))

    def delete_version(self, name: str, version: str) -> None:
        """Remove a version (its number is never reused)."""
        with self._lock:
            model = self._model(name)
            del model.versions[version]
            model.aliases = {a: v for a, v in model.aliases.items() if v != version}

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set one tag."""
        with self._lock:
            mv = self._model(name).versions[version]
            self._model(name).versions[version] = ModelVersion(
                mv.name, mv.version, mv.source, mv.run_id, {**mv.tags, key: value}
            )

    def aliases(self, name: str) -> dict[str, str]:
        """``{alias: version}``."""
        with self._lock:
            model = self._models.get(name)
            return dict(model.aliases) if model else {}

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point the alias."""
        with self._lock:
            model = self._model(name)
            if version not in model.versions:
                raise KeyError(f"{name!r} has no version {version}")
            model.aliases[alias] = version

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove the alias."""
        with self._lock:
            self._model(name).aliases.pop(alias, None)

    def transition_stage(self, name: str, version: str, stage: str) -> None:
        """Record the stage, archiving the version that held it."""
        with self._lock:
            model = self._model(name)
            model.stages = {v: ("Archived" if s == stage else s) for v, s in model.stages.items()}
            model.stages[version] = stage

    def claim(self, key: str, tags: Mapping[str, str], description: str = "") -> bool:
        """Atomic create-if-absent."""
        with self._lock:
            if key in self._claims or key in self._models:
                return False
            self._claims[key] = (dict(tags), time.time())
            return True

    def claimed(self, key: str) -> tuple[dict[str, str], float] | None:
        """A claim's tags and creation time."""
        with self._lock:
            found = self._claims.get(key)
            return (dict(found[0]), found[1]) if found else None

    def claims(self, prefix: str) -> list[str]:
        """Claim keys under ``prefix``."""
        with self._lock:
            return [k for k in self._claims if k.startswith(prefix)]

    def release(self, key: str) -> None:
        """Drop a claim."""
        with self._lock:
            self._claims.pop(key, None)

    def run_tags(self, run_id: str) -> dict[str, str] | None:
        """A run's tags, or ``None``."""
        with self._lock:
            tags = self._runs.get(run_id)
            return dict(tags) if tags is not None else None

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        """Set a run tag."""
        with self._lock:
            self._runs[run_id][key] = value

    def read_run_file(self, run_id: str, path: str) -> str | None:
        """A run's text artifact."""
        with self._lock:
            return self._files.get((run_id, path))

    def log_candidate(
        self,
        run_id: str,
        model_dir: Path,
        *,
        template: str,
        max_new_tokens: int,
        extra_files: Mapping[str, str] | None = None,
        input_example: str = "",
        metric_step: int | None = None,
    ) -> str:
        """Remember the packaged files; the URI is ``memory://<run>/model``."""
        with self._lock:
            for name, text in (extra_files or {}).items():
                self._files[(run_id, f"model/{name}")] = text
        return self.candidate_source(run_id)

    def candidate_source(self, run_id: str) -> str:
        """``memory://<run>/model``."""
        return f"{self.uri}{run_id}/model"

    def content_sha(self, uri: str) -> str:
        """A digest of the packaged files remembered under ``uri`` (the URI itself when none are)."""
        with self._lock:
            files = {p: t for (r, p), t in self._files.items() if f"{self.uri}{r}/model" == uri}
        return sha256_json({"uri": uri, "files": files}, domain="fake-content")

    def served_sha(self, name: str, version: str) -> str:
        """The content digest of the version's source."""
        mv = self.get_version(name, version)
        return self.content_sha(mv.source) if mv else ""

    def load(self, name: str, version: str) -> LoadedModel:
        """What :meth:`add_loadable` registered for the version."""
        if (name, version) not in self._loadable:
            raise KeyError(f"nothing loadable registered for {name!r} v{version}")
        return self._loadable[(name, version)]
