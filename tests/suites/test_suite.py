import shutil

import pytest

from ftlineage import suites
from ftlineage.errors import SuiteError
from ftlineage.suites._suite import bundled_root


def test_bundled_suite_verifies_and_has_required_sizes():
    s = suites.load("healthcare_v17")
    assert len(s.heldout) >= 150
    assert len(s.drift) >= 150
    assert len(s.arena) >= 300
    assert set(s.meta.families) == {c["family"] for c in s.drift}
    assert all("reference" not in c for c in s.arena)
    assert len(s.sha) == 64


def test_suite_is_regenerated_byte_for_byte(tmp_path):
    from ftlineage.suites._build import build_healthcare_v17

    build_healthcare_v17(tmp_path / "hc")
    assert suites.verify(str(tmp_path / "hc")).suite_sha == suites.load("healthcare_v17").sha


def test_one_changed_byte_fails_verification(tmp_path):
    copy = tmp_path / "healthcare_v17"
    shutil.copytree(bundled_root() / "healthcare_v17", copy)
    data = (copy / "drift.jsonl").read_bytes()
    (copy / "drift.jsonl").write_bytes(data[:-2] + b" " + data[-1:])
    with pytest.raises(SuiteError, match=r"drift\.jsonl: sha256 .* does not match the lock"):
        suites.verify(str(copy))


def test_unknown_suite_lists_valid_ones():
    with pytest.raises(SuiteError, match="unknown suite 'nope': valid suites are healthcare_v17"):
        suites.load("nope")
