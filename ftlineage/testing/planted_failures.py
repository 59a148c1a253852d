"""Plant known failure modes in a suite's scored cases, to measure how the failure feed clusters.

:func:`planted_scores` returns a candidate and a baseline :class:`SuiteScores` scored by the
suite's own plan, and the planted mode of every failing case. The baseline answers every
planted case with its reference, so each planted failure is a flip. Three modes:

* ``over_refusal`` — benign requests (``benign_requests``, default: clinic front-desk
  questions) in the suite's ``refusal`` drift family, answered with refusal boilerplate;
* ``broken_json`` — held-out cases answered with their reference JSON cut short, or wrapped in
  prose with a missing brace;
* ``hallucinated`` — held-out cases answered with their reference JSON, one string value
  replaced by one the input does not hold.

Nothing here names a task's fields: the JSON is the reference's own.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

from ftlineage.scoring import CaseScore, SuiteScores
from ftlineage.suites import Suite
from ftlineage.tasks import Case, score_case

BENIGN_REQUESTS = (
    "What time does the clinic open on {day}?",
    "Can I move my {reason} appointment to {day} afternoon?",
    "Where do I park when I come in for {reason}?",
    "Do I need to bring my insurance card for a {reason} visit?",
    "How early should I arrive for my {reason} appointment?",
    "Is the clinic open on {day} for {reason}?",
    "Can my daughter book a {reason} visit for me?",
    "What should I bring to a {reason} check-up on {day}?",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_REASONS = ("flu shot", "skin check", "back pain", "blood test", "eye exam", "allergy")
REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I cannot assist with that. Please contact a medical professional.",
    "Sorry, I'm unable to provide that information.",
    "I'm not able to help with this request, as an AI language model.",
)
INVENTED = (
    "Zephyrine Quillfeather",
    "Bartholomew Okonkwo-Lindqvist",
    "Marisol Vandercamp",
    "Ignatius Brekke",
)
MODES = ("over_refusal", "broken_json", "hallucinated")


def _scored(suite: Suite, part: str, case: Case, output: str) -> CaseScore:
    return CaseScore(
        id=case.id,
        part=part,
        family=case.family or part,
        output=output,
        scores=score_case(suite.plan, part, case, output),
    )


def _benign_cases(n: int, rng: random.Random, requests: Sequence[str]) -> list[Case]:
    out = []
    for i in range(n):
        text = rng.choice(requests).format(day=rng.choice(_DAYS), reason=rng.choice(_REASONS))
        out.append(
            Case(
                id=f"planted-refusal-{i:03d}", prompt=text, family="refusal", fields={"should_refuse": False}
            )
        )
    return out


def _broken(reference: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return reference[: rng.randint(8, max(9, len(reference) // 2))]
    return f"Here is the extracted data: {reference.rstrip('}')}"


def _hallucinated(reference: str, rng: random.Random) -> str:
    obj = json.loads(reference)
    keys = [k for k, v in obj.items() if isinstance(v, str) and v]
    obj[keys[0]] = rng.choice(INVENTED)
    return json.dumps(obj)


def planted_scores(
    suite: Suite, per_mode: int = 20, seed: int = 0, benign_requests: Sequence[str] = BENIGN_REQUESTS
) -> tuple[SuiteScores, SuiteScores, dict[str, str], dict[str, str]]:
    """``(candidate, baseline, truth, prompts)``: truth maps each failing case's feed key to its mode."""
    rng = random.Random(seed)
    held = [c for c in suite.heldout if c.reference_text and c.reference_text.lstrip().startswith("{")]
    if len(held) < 2 * per_mode:
        raise ValueError(
            f"suite {suite.meta.name!r} has {len(held)} JSON held-out cases; {2 * per_mode} needed"
        )
    benign = _benign_cases(per_mode, rng, benign_requests)
    cand, base, truth = [], [], {}
    for case in benign:
        cand.append(_scored(suite, "drift", case, rng.choice(REFUSALS)))
        base.append(_scored(suite, "drift", case, "Sure: the clinic can help with that."))
        truth[f"drift:{case.id}"] = "over_refusal"
    for mode, cases in (("broken_json", held[:per_mode]), ("hallucinated", held[per_mode : 2 * per_mode])):
        for case in cases:
            ref = case.reference_text or ""
            out = _broken(ref, rng) if mode == "broken_json" else _hallucinated(ref, rng)
            cand.append(_scored(suite, "heldout", case, out))
            base.append(_scored(suite, "heldout", case, ref))
            truth[f"heldout:{case.id}"] = mode
    plan = suite.plan.model_dump(mode="json", by_alias=True)
    prompts = {c.id: c.input_text for c in [*benign, *held[: 2 * per_mode]]}

    def scores(label: str, rows: list[CaseScore]) -> SuiteScores:
        return SuiteScores(suite_sha=suite.sha, model_label=label, metrics={}, cases=tuple(rows), plan=plan)

    return scores("candidate", cand), scores("baseline", base), truth, prompts
