"""Classification scorer: accuracy per case; macro-F1 and per-label recall over the part."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from ftlineage.tasks import BaseScorer, Case, nanmean

NAN = math.nan


class Label(BaseScorer):
    """``label``: the output names the reference label.

    The prediction is the output's first line, stripped of surrounding punctuation and compared
    case-insensitively; with ``labels`` given, the first listed label found in the output counts
    and ``valid`` says whether one was found (reference-free, used by the arena rubric). ``field``
    reads the gold label from a case field instead of ``reference``. Aggregates: ``accuracy``,
    ``macro_f1`` over the gold labels seen, and ``recall.<label>`` per gold label.
    """

    keys: ClassVar[tuple[str, ...]] = ("accuracy", "valid")
    metric_keys: ClassVar[tuple[str, ...]] = ("accuracy", "macro_f1")
    labels: list[str] | None = None
    field: str | None = None

    def predict(self, output: str) -> str | None:
        """The predicted label, normalized; ``None`` when no allowed label is found."""
        text = output.strip().casefold()
        if self.labels is None:
            first = text.splitlines()[0] if text else ""
            return first.strip(" .,:;!?\"'`*") or None
        allowed = sorted((lab.casefold() for lab in self.labels), key=len, reverse=True)
        hits = [(text.find(lab), lab) for lab in allowed if lab in text]
        return min(hits)[1] if hits else None

    def score(self, case: Case, output: str) -> dict[str, float]:
        gold = case.get(self.field) if self.field else case.reference
        pred = self.predict(output)
        out = {"valid": float(pred is not None) if self.labels is not None else NAN}
        if gold is None:
            return {"accuracy": NAN, **out}
        gold_n = str(gold).strip().casefold()
        out.update({"accuracy": float(pred == gold_n), f"gold:{gold_n}": 1.0})
        if pred is not None:
            out[f"pred:{pred}"] = 1.0
        return out

    def aggregate(self, scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Accuracy, macro-F1 and per-label recall (labels = gold labels seen)."""
        golds = sorted({k[5:] for s in scores for k in s if k.startswith("gold:")})
        out = {"accuracy": nanmean([s.get("accuracy", NAN) for s in scores])}
        f1s = []
        for lab in golds:
            tp = sum(1 for s in scores if f"gold:{lab}" in s and f"pred:{lab}" in s)
            gold_n = sum(1 for s in scores if f"gold:{lab}" in s)
            pred_n = sum(1 for s in scores if f"pred:{lab}" in s and any(k.startswith("gold:") for k in s))
            recall = tp / gold_n
            precision = tp / pred_n if pred_n else 0.0
            f1s.append(2 * precision * recall / (precision + recall) if tp else 0.0)
            out[f"recall.{lab}"] = recall
        out["macro_f1"] = sum(f1s) / len(f1s) if f1s else NAN
        return out
