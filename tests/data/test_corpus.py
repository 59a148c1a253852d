import pytest

from ftlineage.data import read_corpus
from ftlineage.errors import CorpusError


def _write(tmp_path, text):
    f = tmp_path / "c.jsonl"
    f.write_text(text)
    return f


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('{"prompt": "a", "completion": "b"}\n{"completion": "b"}\n', r"c\.jsonl:2: row has no 'prompt'"),
        ('{"prompt": "a", "completion": "b"}\n{"prompt": "a", \n', r"c\.jsonl:2: invalid JSON"),
        ('{"prompt": 3, "completion": "b"}\n', r"c\.jsonl:1: 'prompt' must be a string but got int"),
        ('["prompt"]\n', r"c\.jsonl:1: row is list"),
        ("\n\n", r"c\.jsonl: corpus is empty"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, text, pattern):
    with pytest.raises(CorpusError, match=pattern):
        read_corpus([_write(tmp_path, text)])


def test_defaults_for_optional_fields(tmp_path):
    rows = read_corpus([_write(tmp_path, '{"prompt": "a", "completion": "b"}\n')])
    assert rows == [{"prompt": "a", "completion": "b", "id": "c-1", "source": "c"}]


def test_duplicate_ids_across_files_are_refused(tmp_path):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text('{"id": "x", "prompt": "a", "completion": "b"}\n')
    b.write_text('{"id": "x", "prompt": "c", "completion": "d"}\n')
    with pytest.raises(CorpusError, match="row id 'x' already used"):
        read_corpus([a, b])
