from ftlineage.models._tiny import build_base, pretraining_texts, spec_key
from ftlineage.recipe import BuiltinSpec

SPEC = BuiltinSpec(hidden_size=32, layers=1, heads=2, intermediate_size=64, vocab_size=300,
                   pretrain_steps=2, batch_size=4, corpus_rows=40, seed=5)


def test_cache_key_follows_the_generated_corpus_not_just_the_spec():
    texts = pretraining_texts(SPEC)
    assert spec_key(SPEC, texts) == spec_key(SPEC)
    assert spec_key(SPEC, [*texts[:-1], texts[-1] + "!"]) != spec_key(SPEC, texts)
    assert spec_key(SPEC.model_copy(update={"seed": 6})) != spec_key(SPEC)


def test_base_is_built_once_then_served_from_cache(tmp_path):
    first = build_base(SPEC, tmp_path, progress=False)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    again = build_base(SPEC, tmp_path, progress=False)
    assert again == first
    assert (again / "model.safetensors").stat().st_mtime_ns == stamp
    assert not list((tmp_path / "base").glob(".building-*"))  # no half-written folders left
