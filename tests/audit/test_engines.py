import pytest

from ftlineage import audit
from ftlineage.audit.planted import plant
from ftlineage.errors import BadInputError
from ftlineage.recipe import AuditPolicy

from .conftest import run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("engines")
    planted = plant(n_base=19_600, per_category=40, seed=5)
    return planted, planted.write_jsonl(tmp / "corpus.jsonl")


def test_process_pool_matches_in_process(corpus, tmp_path):
    planted, path = corpus
    one = run([path], tmp_path / "a", suite=planted.suite, workers=1)[1]
    two = run([path], tmp_path / "b", suite=planted.suite, workers=2)[1]
    assert one == two
    assert len(one) > 500


@pytest.mark.integration
def test_ray_engine_matches_local_on_20k_rows(corpus, tmp_path):
    pytest.importorskip("ray")
    planted, path = corpus
    assert len(planted.rows) >= 20_000
    local, _, local_clean = run([path], tmp_path / "a", suite=planted.suite, workers=1)
    ray_res, ray_flags, ray_clean = run([path], tmp_path / "b", suite=planted.suite, engine="ray", workers=2)
    assert ray_flags == run([path], tmp_path / "c", suite=planted.suite, workers=1)[1]
    assert ray_clean == local_clean
    assert ray_res.report.counts == local.report.counts
    assert ray_res.report.engine == "ray"


def test_unknown_engine_lists_the_valid_ones(corpus):
    planted, path = corpus
    with pytest.raises(BadInputError, match="valid engines: local, ray"):
        audit.audit_corpus([path], AuditPolicy(semantic=False), suite_prompts={}, seed=0, engine="spark")
