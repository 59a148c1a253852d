"""Build the demo corpora shipped in ``recipes/data`` (deterministic; maintainers only).

``healthcare_postcall_train.jsonl`` is a realistic fine-tuning export with the usual
accidents planted: exact and near duplicates, copies of eval cases, a leaked credential
and e-mail addresses. ``vendor_batch_7.jsonl`` is an upstream source whose completions
are mostly refusal boilerplate — the classic over-refusal accident.

Run: ``python -m ftlineage.tasks.healthcare._corpus recipes/data``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from ftlineage.data import REFUSAL
from ftlineage.suites import load
from ftlineage.tasks.healthcare import _data as _healthcare

SEED = 2001


def _edit_one_word(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    i = rng.randrange(2, len(words) - 2)
    words[i] = {"the": "a", "I'm": "I am", "Hi,": "Hello,"}.get(words[i], words[i] + ",")
    return " ".join(words)


def _plant(rows: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    out = list(rows)
    for k in range(20):  # exact duplicates after normalization (case/whitespace changes)
        src = rng.choice(rows)
        out.append({**src, "id": f"dup-{k:03d}", "prompt": "  " + src["prompt"].replace(". ", ".  ")})
    for k in range(15):  # near duplicates: one-word edits
        src = rng.choice(rows)
        out.append({**src, "id": f"near-{k:03d}", "prompt": _edit_one_word(src["prompt"], rng)})
    heldout = load("healthcare_v17").heldout
    for k, case in enumerate(rng.sample(list(heldout), 8)):  # eval cases copied into training
        prompt = str(case.prompt) if k < 5 else _edit_one_word(str(case.prompt), rng)
        out.append(
            {
                "id": f"leak-{k:03d}",
                "prompt": prompt,
                "completion": case.reference,
                "source": "clinic_b_calls",
            }
        )
    secret = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    for k, src in enumerate(rng.sample(rows, 2)):  # a credential pasted into a note
        out.append(
            {**src, "id": f"sec-{k:03d}", "prompt": src["prompt"] + f" Note: portal sync key {secret}."}
        )
    for k, src in enumerate(rng.sample(rows, 5)):  # e-mail addresses (PII: reported, kept)
        first = src["completion"].split('"')[3].split(" ")[0].lower()
        out.append(
            {
                **src,
                "id": f"pii-{k:03d}",
                "prompt": src["prompt"] + f" Caller: Email me at {first}{k}@example.org.",
            }
        )
    rng.shuffle(out)
    return out


def build(out_dir: Path) -> None:
    """Write both demo corpora into ``out_dir``."""
    rng = random.Random(SEED)
    a = _healthcare.make_rows(SEED, 900, prefix="a", source="clinic_a_calls")
    b = _healthcare.make_rows(SEED + 1, 500, prefix="b", source="clinic_b_calls")
    rows = _plant(a + b, rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / "healthcare_postcall_train.jsonl", rows)
    vendor = _healthcare.make_rows(SEED + 2, 240, prefix="v7", source="vendor_batch_7")
    for row in vendor:
        if rng.random() < 0.7:
            row["completion"] = REFUSAL
    _write(out_dir / "vendor_batch_7.jsonl", vendor)


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "recipes/data"))
