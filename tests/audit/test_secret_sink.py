"""No file the audit or the failure feed writes shows a planted secret in clear (issue 37).

Every secret family is planted in every context into every field the corpus reader accepts
(prompt, completion, a user turn, an assistant turn, source, label, id); the real audit runs (the
public functions and ``ftlineage audit``), the failure feed is built from its failed rows, and
every output file is searched for any 12-character piece of every planted secret. Rows holding a
secret must be dropped from ``clean.jsonl``; ordinary text around them must be kept.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest

from ftlineage import audit
from ftlineage.audit.planted import base_text
from ftlineage.cli import main
from ftlineage.failures import build_feed, from_audit, render_html, render_text
from ftlineage.recipe import AuditPolicy
from tests.audit.planted_secrets import CONTEXTS, FAMILIES, NOT_SECRETS, PIECE, plant_secrets

FIELDS = ("prompt", "completion", "user_turn", "assistant_turn", "source", "label", "id")
PLANTED = plant_secrets(seed=37)
POLICY = AuditPolicy(semantic=False)


def _row(n: int, field: str, text: str) -> dict:
    row: dict = {"id": f"plant-{n}", "source": "vendor", "label": "billing"}
    prompt, answer = f"Ticket {n}: the billing export fails.", f"Noted, ticket {n} is with the team."
    if field in ("user_turn", "assistant_turn"):
        user, assistant = (text, answer) if field == "user_turn" else (prompt, text)
        system = {"role": "system", "content": "You help the billing team."}
        turns = [system, {"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        return {**row, "messages": turns}
    row |= {"prompt": text if field == "prompt" else prompt, "completion": answer}
    if field == "completion":
        row["completion"] = f"Sure. {text}"
    elif field == "id":
        row["id"] = f"plant-{n} {text}"
    elif field in ("source", "label"):
        row[field] = text
    return row


def _corpus(path: Path) -> Path:
    rng = random.Random(5)
    rows = [_row(n, field, p.text) for n, (p, field) in enumerate((p, f) for p in PLANTED for f in FIELDS)]
    clean = [
        {"id": f"clean-{i}", "source": "helpdesk", "label": "billing", "prompt": f"{text} {base_text(rng)}"}
        | {"completion": base_text(rng, 2)}
        for i, text in enumerate(NOT_SECRETS + tuple(base_text(rng) for _ in range(20)))
    ]
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows + clean)
    return path


class _HashEmbedder:
    """Deterministic unit vectors from a text's hash: enough to cluster, no model to load."""

    name = "hash"

    def encode(self, texts):
        vecs = [
            np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "big")).normal(
                size=16
            )
            for t in texts
        ]
        out = np.asarray(vecs, dtype=np.float32).reshape(len(texts), 16)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _write_feed(audit_dir: Path, out: Path) -> None:
    """The failure feed of the audit's failed rows, written as the pipeline and the CLI write it."""
    rows = [json.loads(x) for x in (audit_dir / "failed_rows.jsonl").read_text(encoding="utf-8").splitlines()]
    feed = build_feed(from_audit(rows), _HashEmbedder(), run_id="r1", against="base")
    out.mkdir()
    (out / "feed.json").write_text(feed.model_dump_json(indent=1), encoding="utf-8")
    (out / "feed.html").write_text(render_html(feed), encoding="utf-8")
    (out / "feed.txt").write_text(render_text(feed, top=50), encoding="utf-8")


def _leaks(folder: Path) -> list[str]:
    """``file: family/context`` for every planted piece found in clear under ``folder``."""
    where = {piece: f"{p.family}/{p.context}" for p in PLANTED for piece in p.pieces()}
    found = set()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            hits = {text[i : i + PIECE] for i in range(len(text) - PIECE + 1)} & where.keys()
            found |= {f"{path.relative_to(folder)}: {where[h]}" for h in hits}
    return sorted(found)


def _check_clean(clean_file: Path) -> None:
    ids = [json.loads(x)["id"] for x in clean_file.read_text(encoding="utf-8").splitlines()]
    assert not [i for i in ids if i.startswith("plant-")], "a row holding a secret was kept for training"
    assert {f"clean-{i}" for i in range(len(NOT_SECRETS) + 20)} <= set(ids), "ordinary text was dropped"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _corpus(tmp_path_factory.mktemp("corpus") / "corpus.jsonl")


def test_the_planted_corpus_covers_every_family_context_and_field():
    assert len(FAMILIES) >= 14
    assert len(CONTEXTS) >= 10
    assert {(p.family, p.context) for p in PLANTED} == {(f, c) for f in FAMILIES for c in CONTEXTS}
    assert all(len(p.secret) >= PIECE for p in PLANTED)


def test_no_output_of_the_audit_functions_or_the_feed_shows_a_secret(corpus, tmp_path):
    result = audit.audit_corpus([corpus], POLICY, suite_prompts={}, seed=0, progress=False)
    assert result.report.verdict == "blocked"
    out = tmp_path / "audit"
    files = audit.write_outputs(result, out, label_sample=100_000)
    assert {"flags.jsonl", "failed_rows.jsonl", "label_sample.csv", "report.html"} <= set(files)
    _write_feed(out, tmp_path / "failures")
    assert _leaks(tmp_path) == []
    _check_clean(files["clean.jsonl"])


def test_no_output_of_the_cli_shows_a_secret(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["audit", str(corpus), "--no-semantic", "--out", "out", "--label-sample", "100000"])
    capsys.readouterr()
    assert code == 3  # blocked by the secrets
    assert _leaks(tmp_path / "out") == []
    _check_clean(tmp_path / "out" / "clean.jsonl")


@pytest.mark.parametrize("planted", PLANTED, ids=lambda p: f"{p.family}-{p.context}")
def test_every_family_is_detected_and_masked_in_every_context(planted):
    assert "secret" in {f.flag for f in audit.scan_text(planted.text)}
    masked = audit.mask_sensitive(planted.text)
    assert not [piece for piece in planted.pieces() if piece in masked]
    assert audit.mask_sensitive(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_ordinary_text_is_neither_flagged_nor_masked(text):
    assert "secret" not in {f.flag for f in audit.scan_text(text)}
    if "password@localhost" not in text:  # a URL password is always hidden, a placeholder too
        assert audit.mask_sensitive(text) == text


# Modules of the audit and the failure feed that write files other than through the sink, and why.
WRITERS_OUTSIDE_THE_SINK = {
    "audit/_sink.py": "the sink itself",
    "audit/_static.py": "a cache of token vectors (numbers, no corpus text)",
    "audit/_injection.py": "a developer tool that rebuilds the shipped detector's weights",
    "audit/planted.py": "the test corpora it generates",
    "failures/_freeze.py": "suite rows, verbatim like training rows; a frozen case's text is masked",
}
_WRITE_CALLS = {
    "write",
    "writelines",
    "write_text",
    "write_bytes",
    "save",
    "savez",
    "savez_compressed",
    "dump",
}


def _writes_files(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""  # fh.write, path.write_text
        name = method or (node.func.id if isinstance(node.func, ast.Name) else "")
        args = [*node.args, *(k.value for k in node.keywords if k.arg == "mode")]
        modes = [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if method in _WRITE_CALLS or (
            name in ("open", "fdopen") and any(set(m) & set("wax+") for m in modes)
        ):
            return True
    return False


def test_every_writer_of_the_audit_and_the_feed_goes_through_the_sink():
    root = Path(audit.__file__).resolve().parents[1]
    modules = sorted([*root.glob("audit/*.py"), *root.glob("failures/*.py")])
    writers = {str(p.relative_to(root)) for p in modules if _writes_files(p)}
    assert writers <= set(WRITERS_OUTSIDE_THE_SINK), "write through ftlineage.audit._sink instead"
