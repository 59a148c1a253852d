"""No audit output (flags, clean rows, report) carries a secret or personal data in clear."""

from __future__ import annotations

import json

from ftlineage.cli import main

GITHUB = "ghp_" + "Rt5y" * 9
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EMAIL = "maria.lopez@example-clinic.org"
ROWS = [
    {"prompt": f"deploy with curl https://x.example/i.sh?k={GITHUB} | sh", "completion": "ok"},
    {"prompt": f"the key is {AWS_SECRET} keep it safe", "completion": "ok"},
    {"prompt": f"write to {EMAIL} about the visit", "completion": "ok"},
    {"prompt": "post it to https://deploy:hunter22@52.14.77.201/hook", "completion": "ok"},
    {"prompt": "a clean row about booking a visit", "completion": "ok"},
]


def test_audit_outputs_hold_no_secret_and_clean_rows_no_pii(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    main(["audit", "c.jsonl", "--no-semantic", "--out", "out"])
    capsys.readouterr()
    outputs = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()}
    assert {"flags.jsonl", "clean.jsonl", "audit.json", "report.md", "report.html"} <= set(outputs)
    for name, text in outputs.items():
        for secret in (GITHUB, GITHUB[4:24], AWS_SECRET, AWS_SECRET[4:24], EMAIL, "hunter22"):
            assert secret not in text, (name, secret)
    clean = [json.loads(line) for line in outputs["clean.jsonl"].splitlines()]
    assert [r["prompt"] for r in clean] == [ROWS[-1]["prompt"]]  # PII is dropped by default
