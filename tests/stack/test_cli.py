"""``ftlineage stack``: what it says and what it writes, with and without a stack."""

from __future__ import annotations

import json
import stat

import pytest

from ftlineage.cli import main


def test_status_without_a_stack_is_one_line_and_exit_7(tmp_path, capsys):
    assert main(["stack", "status", "--dir", str(tmp_path / "none")]) == 7
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "ftlineage stack up --dir" in err


@pytest.mark.stack
def test_the_stack_describes_itself_without_its_secrets(stack, capsys):
    on_disk = (stack.root / "stack.json").read_text()
    assert json.loads(on_disk)["tracking_uri"] == stack.tracking_uri
    assert "***" in json.loads(on_disk)["backend_store_uri"]
    assert stat.S_IMODE((stack.root / "secrets.json").stat().st_mode) == 0o600
    assert main(["stack", "env", "--dir", str(stack.root)]) == 0
    assert main(["stack", "status", "--dir", str(stack.root)]) == 0
    shown = capsys.readouterr().out
    assert f"MLFLOW_TRACKING_URI={stack.tracking_uri}" in shown
    for secret in stack.secrets.values():
        assert secret not in on_disk
        assert secret not in shown
        assert secret not in repr(stack)
