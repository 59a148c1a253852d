"""The two-step semantic pass agrees with exhaustive search, and its parts keep their contracts."""

import numpy as np
import pytest

from ftlineage import audit
from ftlineage.audit._search import candidate_pairs
from ftlineage.audit._semantic import get_embedder
from ftlineage.audit._static import TABLE_VERSION, Projection, load_table, weights_sha
from ftlineage.audit.planted import plant
from ftlineage.recipe import AuditPolicy


class Exhaustive:
    """The same model behind the bare Embedder protocol: no static table, so every pair is scored."""

    def __init__(self, model):
        self.model, self.name = model, model.name

    def encode(self, texts):
        return self.model.encode(texts)


def _flagged(result, flag):
    return {i for i, flags in result.facts.flags.items() if flag in flags}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sem")
    planted = plant(n_base=300, per_category=12, seed=23)
    path = planted.write_jsonl(tmp / "c.jsonl")
    model = get_embedder("all-MiniLM-L6-v2")
    policy = AuditPolicy(block={})
    run = lambda emb: audit.audit_corpus(  # noqa: E731
        [path], policy, suite_prompts=planted.suite, seed=0, progress=False, embedder=emb
    )
    return run(model), run(Exhaustive(model))


def test_two_step_pass_finds_what_exhaustive_search_finds(both):
    fast, slow = both
    for flag in ("semantic_duplicate", "eval_leak"):
        want, got = _flagged(slow, flag), _flagged(fast, flag)
        assert want, flag
        assert len(want & got) / len(want) >= 0.95, (flag, sorted(want - got))
        assert len(want & got) / len(got) >= 0.95, (flag, sorted(got - want))
    assert "candidate search" in fast.report.semantic
    assert "every pair" in slow.report.semantic


def test_static_table_is_read_from_the_cache_keyed_by_the_weights_sha(tmp_path):
    model = get_embedder("all-MiniLM-L6-v2")
    transformer, tokenizer = model._model[0].auto_model, model._model.tokenizer
    sha = weights_sha(transformer)
    (tmp_path / "static").mkdir()
    fake = np.full((len(tokenizer), 4), 0.5, np.float16)
    np.save(tmp_path / "static" / f"{sha}-v{TABLE_VERSION}.npy", fake)
    table, got = load_table(transformer, tokenizer, tmp_path)
    assert got == sha
    assert len(sha) == 64
    assert table.shape == (len(tokenizer), 4)
    assert np.allclose(table, 0.5)
    static = model.static(model_cache())
    vecs = static.raw(["a cat sat on the mat", "a cat sat on the mat", "tax law of 1921"])
    assert np.allclose(vecs[0], vecs[1])
    assert not np.allclose(vecs[0], vecs[2])


def test_pair_tokenizes_prompt_and_row_consistently():
    model = get_embedder("all-MiniLM-L6-v2")
    static = model.static(model_cache())
    prompt, row = static.pair(["Book a cut."], ["Booked for Tuesday."])
    assert np.allclose(prompt, static.raw(["Book a cut."]), atol=1e-6)
    assert np.allclose(row, static.raw(["Book a cut. Booked for Tuesday."]), atol=1e-6)


def model_cache():
    from ftlineage.settings import Settings

    return Settings.from_env().cache_dir


def test_inverted_lists_find_the_pairs_exact_search_finds():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(3000, 32)).astype(np.float32)
    x = np.concatenate([base, base + rng.normal(scale=0.05, size=base.shape).astype(np.float32)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact = candidate_pairs(x, 0.8, seed=0, exact_max=10**9)
    ivf = candidate_pairs(x, 0.8, seed=0, exact_max=0)
    assert len(exact) >= 3000
    assert len(set(exact) & set(ivf)) / len(exact) >= 0.99
    assert all(i < j for i, j in ivf)
    assert all(c >= 0.8 for c in ivf.values())
    assert candidate_pairs(x, 0.8, seed=0, exact_max=0) == ivf  # seeded


def test_each_row_keeps_at_most_per_row_partners():
    x = np.ones((50, 8), np.float32) / np.sqrt(8)  # every pair identical: a corpus of one template
    pairs = candidate_pairs(x, 0.5, seed=0, per_row=3)
    assert 50 <= len(pairs) <= 50 * 3


def test_projection_drops_shared_directions_and_normalises():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=16) * 10
    x = (rng.normal(size=(200, 16)) + shared).astype(np.float32)
    proj = Projection.fit(x, drop=1, dim=8)
    out = proj(x)
    assert out.shape == (200, 8)
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    assert abs(float((out @ out.T).mean())) < 0.2  # the common offset no longer makes all rows alike


def test_verification_budget_and_row_limit_are_findings_not_silent(tmp_path):
    planted = plant(n_base=200, per_category=8, seed=5)
    path = planted.write_jsonl(tmp_path / "c.jsonl")
    for policy, words in (
        (AuditPolicy(block={}, semantic_verify_max_rows=2), "semantic_verify_max_rows=2"),
        (AuditPolicy(block={}, semantic_max_rows=10), "semantic_max_rows=10"),
    ):
        res = audit.audit_corpus([path], policy, suite_prompts={}, seed=0, progress=False)
        assert words in res.report.semantic
        assert any(words in finding for finding in res.report.findings), res.report.findings


def test_a_tiny_corpus_still_gets_its_duplicates(tmp_path):
    import json

    rows = [
        {"id": "a", "prompt": "How do I reset my password?", "completion": "Use the reset link."},
        {"id": "b", "prompt": "How can I reset my password?", "completion": "Use the reset link."},
        {"id": "c", "prompt": "What are your opening hours?", "completion": "We open at nine every weekday."},
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = audit.audit_corpus([path], AuditPolicy(block={}), suite_prompts={}, seed=0, progress=False)
    dup = {i for i, f in res.facts.flags.items() if "semantic_duplicate" in f or "near_duplicate" in f}
    assert dup == {0, 1}, res.report.semantic  # the pair (one of them is kept), not the third row
