"""Build and lock the bundled suites from their deterministic generators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ftlineage.data import _general, _healthcare
from ftlineage.suites._suite import LOCK_NAME, META_NAME, SuiteMeta, compute_lock

HEALTHCARE_V17 = {
    "name": "healthcare_v17",
    "version": 17,
    "description": (
        "Post-call extraction from clinic phone-call transcripts into JSON, with a frozen "
        "general-capability drift suite and a production-like arena pool."
    ),
    "task": "json_extraction",
    "rubric_version": "postcall-rubric-v1",
    "drift_template": _general.GENERAL_TEMPLATE,
    "families": list(_general.FAMILIES),
    "max_new_tokens": {"heldout": 72, "drift": 40, "arena": 72},
}
SEEDS = {"heldout": 1701, "drift": 1702, "arena": 1703}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")


def write_lock(path: Path) -> None:
    """(Re)write ``suite.lock`` for the suite in ``path``."""
    meta = SuiteMeta.model_validate(yaml.safe_load((path / META_NAME).read_text()))
    lock = compute_lock(path, meta)
    (path / LOCK_NAME).write_text(lock.model_dump_json(indent=2) + "\n", encoding="utf-8")


def build_healthcare_v17(path: Path) -> None:
    """Generate healthcare_v17: 160 held-out, 200 drift (40 per family), 320 arena cases."""
    path.mkdir(parents=True, exist_ok=True)
    (path / META_NAME).write_text(yaml.safe_dump(HEALTHCARE_V17, sort_keys=False))
    heldout = _healthcare.make_rows(SEEDS["heldout"], 160, prefix="heldout", source="suite")
    _write_jsonl(path / "heldout.jsonl", [
        {"id": r["id"], "prompt": r["prompt"], "reference": r["completion"]} for r in heldout
    ])
    _write_jsonl(path / "drift.jsonl", _general.make_cases(SEEDS["drift"], 40, prefix="drift"))
    arena = _healthcare.make_rows(SEEDS["arena"], 320, prefix="arena", source="suite")
    _write_jsonl(path / "arena.jsonl", [{"id": r["id"], "prompt": r["prompt"]} for r in arena])
    write_lock(path)
BUILDERS = {"healthcare_v17": build_healthcare_v17}
