"""Precision and recall ≥ 0.95 for every flag on a corpus with planted problems and hard negatives."""

import pytest

from ftlineage import audit
from ftlineage.audit.planted import plant
from ftlineage.recipe import AuditPolicy

from .conftest import run


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pr")
    planted = plant(n_base=500, per_category=20, seed=11)
    _, flags, _ = run(
        [planted.write_jsonl(tmp / "corpus.jsonl")], tmp / "out", policy=AuditPolicy(), suite=planted.suite
    )
    predicted: dict[str, set[str]] = {}
    for row_id, entry in flags.items():
        for flag in entry["flags"]:
            predicted.setdefault(flag, set()).add(row_id)
    return planted.truth, predicted


@pytest.mark.parametrize("flag", audit.FLAGS)
def test_precision_and_recall_per_category(scored, flag):
    truth, predicted = scored
    want, got = truth[flag], predicted.get(flag, set())
    assert want, f"the generator planted no {flag}"
    hits = len(want & got)
    precision, recall = hits / max(len(got), 1), hits / len(want)
    assert precision >= 0.95, (flag, sorted(got - want)[:5])
    assert recall >= 0.95, (flag, sorted(want - got)[:5])
