"""Every tracker adapter passes the same contract (``ftlineage.testing.tracker_contract``)."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.testing import InMemoryTracker
from ftlineage.testing.tracker_contract import Recorded, TrackerContract
from ftlineage.testing.wandb_files import read_offline_run
from ftlineage.tracking._fanout import FanoutTracker
from ftlineage.tracking._mlflow import MlflowTracker
from ftlineage.tracking._wandb import WandbTracker


def _read_mlflow(client: MlflowClient, run_id: str) -> Recorded:
    run = client.get_run(run_id)
    metrics = {k: {m.step: m.value for m in client.get_metric_history(run_id, k)} for k in run.data.metrics}
    traces = client.search_traces(locations=[run.info.experiment_id], run_id=run_id, flush=True)
    spans = {
        t.info.tags.get("mlflow.traceName", ""): [
            {**s.attributes, "name": s.name} for s in t.data.spans if s.parent_id
        ]
        for t in traces
    }
    return Recorded(metrics=metrics, tags=dict(run.data.tags), params=dict(run.data.params), traces=spans)


class TestMlflowTracker(TrackerContract):
    @pytest.fixture(autouse=True)
    def _store(self, store):
        pass

    def make(self, tmp_path):
        return MlflowTracker.start(experiment="contract", run_name="r")

    def read(self, tracker, tmp_path):
        return _read_mlflow(tracker.client, tracker.run_id)


class TestWandbTracker(TrackerContract):
    supports_traces = False

    @pytest.fixture(autouse=True)
    def _offline(self, monkeypatch):
        monkeypatch.delenv("WANDB_API_KEY", raising=False)
        monkeypatch.delenv("WANDB_MODE", raising=False)

    def make(self, tmp_path):
        return WandbTracker.start(
            project="contract", run_id=f"r{tmp_path.name[-12:]}", name="r", work_dir=tmp_path
        )

    def read(self, tracker, tmp_path):
        (folder,) = (tmp_path / "wandb").glob(f"offline-run-*-{tracker.run_id}")
        run = read_offline_run(folder)
        metrics: dict[str, dict[int, float]] = {}
        for row in run.history:
            for k, v in row.items():
                if not k.startswith("_"):
                    metrics.setdefault(k, {})[row["_step"]] = v
        config = {k: str(v) for k, v in run.config.items() if not k.startswith("_")}
        return Recorded(metrics=metrics, tags=config, params=config)


class TestFanoutTracker(TrackerContract):
    """MLflow + W&B together: what MLflow holds is what the fan-out promised."""

    @pytest.fixture(autouse=True)
    def _env(self, store, monkeypatch):
        monkeypatch.delenv("WANDB_API_KEY", raising=False)
        monkeypatch.delenv("WANDB_MODE", raising=False)

    def make(self, tmp_path):
        primary = MlflowTracker.start(experiment="contract", run_name="r")
        other = WandbTracker.start(project="contract", run_id=primary.run_id, name="r", work_dir=tmp_path)
        return FanoutTracker(primary, [other])

    def read(self, tracker, tmp_path):
        return _read_mlflow(tracker.client, tracker.run_id)


def _flat(spans):
    for span in spans:
        yield {**span.attributes, "name": span.name}
        yield from _flat(span.children)


class TestInMemoryTracker(TrackerContract):
    def make(self, tmp_path):
        return InMemoryTracker()

    def read(self, tracker, tmp_path):
        assert tracker.status == "FINISHED"
        traces = {name: list(_flat(spans)) for name, spans in tracker.traces.items()}
        return Recorded(metrics=tracker.metrics, tags=tracker.tags, params=tracker.params, traces=traces)
