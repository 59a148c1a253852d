"""A name in an MLflow search filter is one value, whatever quotes or backslashes it holds."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from ftlineage.errors import BadInputError
from ftlineage.tracking import MlflowRegistry, filter_literal, init_store

NAMES = ["plain", "x' OR '1'='1", 'a"b', "back\\slash", "a'\\b", "pct%_x", "semi;--", "é😀"]


def test_each_name_finds_exactly_its_own_versions(tmp_path):
    client = MlflowClient(tracking_uri=init_store(f"sqlite:///{tmp_path / 'm.db'}"))
    for name in NAMES:
        client.create_registered_model(name)
        client.create_model_version(name, source=str(tmp_path), tags={"k": name})
    registry = MlflowRegistry(client)
    for name in NAMES:
        assert [v.name for v in registry.find_versions(name)] == [name]
        assert [v.name for v in registry.find_versions(name, tag=("k", name))] == [name]


@pytest.mark.parametrize("name", ["both'\"quotes", "trailing\\"])
def test_a_name_no_filter_can_hold_is_refused_naming_it(name):
    with pytest.raises(BadInputError, match="cannot be looked up in MLflow; use another name"):
        filter_literal(name)
