import pytest

from ftlineage import suites
from ftlineage.ci import Baseline, case_shas, check_append_only, slice_suite
from ftlineage.errors import SuiteError


@pytest.fixture(scope="module")
def suite():
    return suites.load("healthcare_v17")


def test_slice_is_stable_for_a_digest_and_nested_across_sizes(suite):
    a, b = slice_suite(suite, 10), slice_suite(suite, 10)
    assert [c.id for c in a.heldout] == [c.id for c in b.heldout]
    assert len(a.heldout) == 10
    assert len(a.drift) == 20
    assert {c.id for c in a.heldout} <= {c.id for c in slice_suite(suite, 30).heldout}
    assert [c.id for c in a.heldout] != [c.id for c in suite.heldout[:10]]  # seeded, not the head
    assert slice_suite(suite, 0) is suite


def _baseline(suite, shas):
    return Baseline(
        suite=suite.meta.name,
        suite_version=suite.meta.version,
        suite_sha=suite.sha,
        slice=10,
        model="m",
        metrics={},
        case_shas=shas,
    )


def test_appended_cases_are_fine_but_changed_ones_need_a_version_bump(suite):
    shas = case_shas(suite)
    fewer = dict(list(shas.items())[:-5])  # the suite has since gained 5 cases
    check_append_only(suite, _baseline(suite, fewer))
    changed = {**shas, next(iter(shas)): "0" * 64}
    with pytest.raises(SuiteError, match="changed or removed without a version bump"):
        check_append_only(suite, _baseline(suite, changed))
    bumped = _baseline(suite, changed).model_copy(update={"suite_version": suite.meta.version - 1})
    check_append_only(suite, bumped)  # a new version may change anything
