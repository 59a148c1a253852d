from ftlineage import suites
from ftlineage.audit import normalize
from ftlineage.data._replay import replay_rows


def test_replay_never_contains_a_drift_case_and_is_deterministic():
    drift = [c.input_text for c in suites.load("healthcare_v17").drift]
    rows = replay_rows(400, seed=17, template="{prompt}", exclude=drift)
    assert len(rows) == 400
    banned = {normalize(p) for p in drift}
    assert not any(normalize(r["prompt"]) in banned for r in rows)
    assert rows == replay_rows(400, seed=17, template="{prompt}", exclude=drift)
    assert rows != replay_rows(400, seed=18, template="{prompt}", exclude=drift)


def test_replay_of_zero_rows():
    assert replay_rows(0, seed=1, template="{prompt}", exclude=[]) == []
