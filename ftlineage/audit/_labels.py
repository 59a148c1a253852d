"""Label-noise estimate: a seeded sample goes out as CSV, comes back relabelled, and is scored.

Relabelling is done by hand (fill the ``relabel`` column) or by any callable judge through
:func:`relabel_csv`; agreement and Cohen's kappa between the corpus labels and the relabels go
into the report, and agreement below the policy's ``label_agreement_min`` is a finding.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ftlineage.audit._report import LabelNoise
from ftlineage.audit._sink import write_csv
from ftlineage.errors import BadInputError

SAMPLE_COLUMNS = ("id", "source", "prompt", "completion", "label", "relabel")


def sample_indices(candidates: np.ndarray, size: int, seed: int) -> set[int]:
    """A seeded sample of ``size`` record indices among ``candidates`` (all of them when fewer)."""
    if size >= len(candidates):
        return set(candidates.tolist())
    return set(np.random.default_rng(seed).choice(candidates, size=size, replace=False).tolist())


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> tuple[float, float]:
    """Observed agreement and Cohen's kappa of two labelings of the same items."""
    if not a or len(a) != len(b):
        raise ValueError("need two labelings of the same, non-empty items")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    kappa = 1.0 if expected == 1 else (observed - expected) / (1 - expected)
    return observed, kappa


def read_relabels(path: Path) -> LabelNoise:
    """Score a filled-in label sample CSV (rows with an empty ``relabel`` are skipped)."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"label", "relabel"} - set(reader.fieldnames or ())
            if missing:
                raise BadInputError(
                    f"{path}: label sample has no column(s) {sorted(missing)}; export one "
                    "with `ftlineage audit CORPUS --label-sample 300` and fill in 'relabel'"
                )
            pairs = [(r["label"], r["relabel"].strip()) for r in reader if (r.get("relabel") or "").strip()]
    except FileNotFoundError:
        raise BadInputError(f"{path}: relabel file not found") from None
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise BadInputError(f"{path}: not a readable CSV ({exc}); export it again as CSV") from None
    if not pairs:
        raise BadInputError(f"{path}: no row has a 'relabel' value; fill that column in, then pass it back")
    agreement, kappa = cohen_kappa([p[0] for p in pairs], [p[1] for p in pairs])
    return LabelNoise(sample_size=len(pairs), agreement=agreement, kappa=kappa, relabeled_by=str(path))


def relabel_csv(path: Path, judge: Callable[[str, str], str], out: Path | None = None) -> Path:
    """Fill the ``relabel`` column of a label sample with ``judge(prompt, completion)``."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["relabel"] = judge(row["prompt"], row["completion"])
    return write_csv(out or path, SAMPLE_COLUMNS, rows)
