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
    assert set(s.spec("drift").families) == {c.family for c in s.drift}
    assert all(c.reference is None for c in s.arena)
    assert len(s.sha) == 64


def test_suite_is_regenerated_byte_for_byte(tmp_path):
    from ftlineage.tasks import build_suite

    for name in suites.bundled_names():
        build_suite(name, tmp_path / name)
        assert suites.verify(str(tmp_path / name)).suite_sha == suites.load(name).sha, name
        for file in (suites.bundled_root() / name).iterdir():
            assert (tmp_path / name / file.name).read_bytes() == file.read_bytes(), (name, file.name)


def test_one_changed_byte_fails_verification(tmp_path):
    copy = tmp_path / "healthcare_v17"
    shutil.copytree(bundled_root() / "healthcare_v17", copy)
    data = (copy / "drift.jsonl").read_bytes()
    (copy / "drift.jsonl").write_bytes(data[:-2] + b" " + data[-1:])
    with pytest.raises(SuiteError, match=r"drift\.jsonl: sha256 .* does not match the lock"):
        suites.verify(str(copy))


def test_unknown_suite_lists_valid_ones():
    with pytest.raises(
        SuiteError,
        match="unknown suite 'nope': valid suites are general_v1, healthcare_v17, salon_booking_v3",
    ):
        suites.load("nope")


def _relocked_copy(dest, edit=True):
    import shutil

    from ftlineage.suites._suite import LOCK_NAME, read_meta

    shutil.copytree(suites.bundled_root() / "healthcare_v17", dest)
    if edit:
        with (dest / "heldout.jsonl").open("a", encoding="utf-8") as fh:
            fh.write('{"id": "planted", "prompt": "p", "reference": "{}"}\n')
    lock = suites.compute_lock(dest, read_meta(dest))
    (dest / LOCK_NAME).write_text(lock.model_dump_json(indent=2), encoding="utf-8")
    return dest


def test_a_folder_named_like_a_bundled_suite_does_not_shadow_it(tmp_path, monkeypatch):
    _relocked_copy(tmp_path / "healthcare_v17")
    monkeypatch.chdir(tmp_path)
    assert suites.resolve("healthcare_v17") == suites.bundled_root() / "healthcare_v17"
    assert suites.load("healthcare_v17").sha == suites.BUNDLED_DIGESTS[("healthcare_v17", 17)]
    with pytest.raises(SuiteError, match=r"ftlineage ships healthcare_v17 v17 as .*bump its version"):
        suites.load("./healthcare_v17")


def test_an_unedited_copy_by_path_is_the_same_suite(tmp_path):
    copy = _relocked_copy(tmp_path / "mine", edit=False)
    assert suites.load(str(copy)).sha == suites.load("healthcare_v17").sha


def test_the_package_knows_the_digest_of_every_bundled_suite():
    shipped = {(s.meta.name, s.meta.version): s.sha for s in map(suites.load, suites.bundled_names())}
    assert shipped == suites.BUNDLED_DIGESTS


@pytest.mark.parametrize(
    ("lock_text", "message"),
    [("garbage", "not a valid suite lock"), (b"\xff\xfe", "not UTF-8"), ("{}", "not a valid suite lock")],
)
def test_a_garbage_lock_is_one_line_bad_input(tmp_path, lock_text, message):
    copy = _relocked_copy(tmp_path / "mine", edit=False)
    lock = copy / "suite.lock"
    lock.write_bytes(lock_text if isinstance(lock_text, bytes) else lock_text.encode())
    with pytest.raises(SuiteError, match=message):
        suites.verify(str(copy))
