"""Every registry adapter passes the same contract (``ftlineage.testing.RegistryContract``)."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.testing import InMemoryRegistry, RegistryContract
from ftlineage.tracking import MlflowRegistry


class TestMlflowRegistry(RegistryContract):
    @pytest.fixture(autouse=True)
    def _store(self, store):
        pass

    def make(self, tmp_path):
        return MlflowRegistry.connect()

    def make_run(self, registry, tags, files):
        client: MlflowClient = registry.client
        exp = client.get_experiment_by_name("contract") or client.get_experiment(
            client.create_experiment("contract")
        )
        run_id = client.create_run(exp.experiment_id, tags=dict(tags)).info.run_id
        for path, text in files.items():
            client.log_text(run_id, text, path)
        return run_id


class TestInMemoryRegistry(RegistryContract):
    def make(self, tmp_path):
        return InMemoryRegistry()

    def make_run(self, registry, tags, files):
        run_id = f"run-{len(registry._runs)}"
        registry.add_run(run_id, tags, files)
        return run_id
