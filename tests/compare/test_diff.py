import pytest

from ftlineage.compare import RunSnapshot, case_passed, diff_runs, render_html, render_text
from ftlineage.scoring import CaseScore
from ftlineage.suites import load as load_suite
from ftlineage.tasks import aggregate

PLAN = load_suite("healthcare_v17").plan


def _case(i, exact, part="heldout"):
    scores = (
        {"field_accuracy": exact, "exact_match": exact, "json_valid": 1.0, "produced": 1, "grounded": 1}
        if part == "heldout"
        else {"score": exact}
    )
    return CaseScore(
        id=f"{part}-{i}",
        part=part,
        family="x" if part == "drift" else "heldout",
        scores=scores,
        output=f"out-{i}-{exact}",
    )


def _snap(run_id, prompt_sha, passes, drift):
    cases = tuple(_case(i, p) for i, p in enumerate(passes)) + tuple(
        _case(i, p, "drift") for i, p in enumerate(drift)
    )
    return RunSnapshot(
        run_id=run_id,
        metrics=aggregate(cases, PLAN),
        cases=cases,
        plan=PLAN.model_dump(mode="json", by_alias=True),
        shas={
            "prompt_sha": prompt_sha,
            "dataset_sha": "d" * 64,
            "recipe_sha": prompt_sha[::-1],
            "model_sha": prompt_sha + "m",
            "suite_sha": "s" * 64,
        },
        prompts={f"heldout-{i}": f"transcript <{i}>" for i in range(len(passes))},
    )


def test_a_prompt_change_is_named_and_flipped_cases_listed():
    a = _snap("A", "a" * 64, [1.0] * 30 + [0.0] * 10, [1.0] * 20)
    b = _snap("B", "b" * 64, [1.0] * 22 + [0.0] * 18, [1.0] * 19 + [0.0])
    d = diff_runs(a, b, samples=300)
    assert list(d.changed_inputs) == ["prompt_sha"]
    assert set(d.changed_other) == {"recipe_sha", "model_sha"}
    assert "dataset_sha" in d.unchanged
    acc = next(m for m in d.metrics if m.name == "heldout/field_accuracy")
    assert acc.delta == pytest.approx(-8 / 40)
    assert acc.interval[0] <= acc.delta <= acc.interval[1] < 0
    assert [f.id for f in d.flips if f.part == "heldout"] == [f"heldout-{i}" for i in range(22, 30)]
    assert all(f.direction == "pass→fail" for f in d.flips)
    assert next(f for f in d.flips if f.part == "heldout").prompt.startswith("transcript <")
    text = render_text(d)
    assert "changed inputs: prompt_sha (also: model_sha, recipe_sha)" in text
    assert "9 case(s) flipped pass→fail" in text
    page = render_html(d)
    assert "transcript &lt;22&gt;" in page  # inputs are escaped


def test_identical_runs_show_no_change():
    a = _snap("A", "a" * 64, [1.0, 0.0], [1.0])
    d = diff_runs(a, a.model_copy(update={"run_id": "B"}), samples=100)
    assert not d.changed_inputs
    assert not d.changed_other
    assert not d.flips
    assert all(m.delta == 0 for m in d.metrics if m.delta is not None)


def test_unscored_cases_never_flip():
    nan = float("nan")
    assert case_passed(_case(0, nan), PLAN) is None
