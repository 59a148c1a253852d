"""A suggested fix per cluster: from a rules table, or written by a model (pinned prompt, cached).

The rules are keyed on the checks most of a cluster's cases fail (``heldout/json_valid``,
``drift/refusal.over_refusal``, ``audit/refusal_contamination``...), on its stages and tiers,
and fill in what the cluster says: its distinctive terms, the training sources behind it, the
drift families it touches. The first rule that matches wins; the last one always matches.

A model-written fix (:class:`LLMFixer`) asks any judge backend (an OpenAI-compatible endpoint,
a local HF model) with one pinned prompt; the reply is cached on the SHA-256 of prompt version,
backend parameters and the whole prompt, sealed like arena verdicts. A failed call falls back to
the rule, and says so.
"""

from __future__ import annotations

import fnmatch
import hmac
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ftlineage.arena import Backend, JudgeCallError, jsonable, open_cache_db, seal_message
from ftlineage.audit import MaskedModel
from ftlineage.lineage import sha256_json

FIX_PROMPT_VERSION = "failure-fix-v1"


class Fix(MaskedModel):
    """What to do about one cluster, and who said so (masked: a model's fix may quote a case)."""

    text: str
    by: str  # "rules" or "llm:<backend model>"
    rule: str  # the matching rule's id (the fallback when a model wrote the text)
    prompt_sha: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class ClusterFacts:
    """What a fixer reads of a cluster."""

    checks: Counter[str]
    stages: Counter[str]
    families: Counter[str]
    tiers: Counter[str]
    sources: Counter[str]
    kinds: Counter[str]
    terms: tuple[str, ...]
    examples: tuple[tuple[str, str], ...]  # (input, output), a few
    size: int

    def main_checks(self, share: float = 0.5) -> list[str]:
        """Checks failed by at least ``share`` of the cases, most common first."""
        return [c for c, n in self.checks.most_common() if n >= share * self.size]


@dataclass(frozen=True)
class Rule:
    """``when``: check-name patterns (fnmatch); ``test``: an extra condition; ``fix``: a template."""

    id: str
    when: tuple[str, ...]
    fix: str
    test: Callable[[ClusterFacts], bool] = field(default=lambda f: True)

    def matches(self, facts: ClusterFacts) -> bool:
        """Whether a main check of the cluster matches one of the patterns, and the test holds."""
        main = facts.main_checks() or [c for c, _ in facts.checks.most_common(1)]
        hit = any(fnmatch.fnmatchcase(c, p) for c in main for p in self.when)
        return hit and self.test(facts)


_STRUCTURED = ("*json*", "*schema*", "*tool_call*", "*format*")
RULES: tuple[Rule, ...] = (
    Rule(
        "audit-refusal-contamination",
        ("audit/refusal_contamination",),
        "training data teaches refusals: source {sources} answers with refusal boilerplate → drop or "
        "fix source {sources} (or list it in audit.safety_sources if its refusals are deliberate) and "
        "run again; the audit blocks training until then",
    ),
    Rule(
        "audit-eval-leak",
        ("audit/eval_leak",),
        "training rows copy eval cases → keep eval_leak in audit.drop or remove the rows upstream "
        "(source {sources}); a model trained on them scores what it memorised",
    ),
    Rule(
        "audit-label-noise",
        ("audit/label_conflict",),
        "the same input carries different labels → relabel or drop the conflicting rows "
        "(audit/flags.jsonl) of source {sources}; label noise caps what the fine-tune can learn",
    ),
    Rule(
        "audit-secrets",
        ("audit/secret", "audit/pii_*"),
        "rows of source {sources} carry credentials or personal data → drop them (audit.drop) and "
        "rotate any real credential; never train on them",
    ),
    Rule(
        "audit-poison",
        ("audit/*",),
        "rows of source {sources} carry {checks} → drop them (audit.drop) and trace the source "
        "upstream before training",
    ),
    Rule(
        "tier-structured",
        _STRUCTURED,
        "tier {tiers} loses strict structured output ({checks}) → ship the next-higher tier "
        "(e.g. INT8) on the structured path and keep {tiers} for free text",
        test=lambda f: bool(f.tiers),
    ),
    Rule(
        "empty-answers",
        ("*/empty",),
        "answers nothing on {terms} → check that generation stops where it should (EOS in the "
        "training rows, the chat template, max_new_tokens) and that the training completions are not empty",
    ),
    Rule(
        "over-refusal",
        ("*over_refusal*", "*/refused"),
        "fine-tune over-refuses on {terms} → stricter topic check on the training data (the "
        "audit's per-source refusal rates), drop the offending source, retrain from the last clean "
        "checkpoint; mix in answered benign requests (audit.safety_sources, training.source_weights)",
    ),
    Rule(
        "missed-refusal",
        ("*missed_refusal*",),
        "fine-tune answers requests it should refuse ({terms}) → mix in a safety set "
        "(audit.safety_sources, training.source_weights), fewer steps or a lower learning rate; "
        "retrain from the last checkpoint that still refused",
    ),
    Rule(
        "schema-adherence",
        _STRUCTURED,
        "loses schema/format adherence ({checks}) on {terms} → fewer epochs or steps, higher LoRA "
        "rank, keep the JSON/function-call template in the per-checkpoint rubric",
    ),
    Rule(
        "hallucination",
        ("*hallucination*", "*grounded*", "*grounding*"),
        "states values the input does not hold ({terms}) → add grounded rows whose answer leaves an "
        "absent field null, lower the learning rate, and check the references for the same fault "
        "(audit label sample)",
    ),
    Rule(
        "capability-drift",
        ("drift/*",),
        "capability drift on {families} → raise training.replay_fraction, train fewer steps, "
        "retrain from the last checkpoint whose drift was within noise",
    ),
    Rule(
        "arena-loss",
        ("arena/*",),
        "loses to the baseline on {terms} → read the judge's reasons in the arena trace, add "
        "training rows like these inputs, or keep the baseline on this slice",
    ),
    Rule(
        "canary-loss",
        ("canary/*",),
        "loses to the champion in production on {terms} ({checks}) → keep the champion, freeze this "
        "cluster into a regression part (`ftlineage failures freeze`) so the next candidate is "
        "gated on it",
    ),
    Rule(
        "task-errors",
        ("*",),
        "task errors ({checks}) on {terms} → more training rows like these inputs or more steps; "
        "freeze the cluster into a regression part so the next candidate is gated on it",
    ),
)


def _names(counter: Counter[str], none: str) -> str:
    return ", ".join(repr(k) for k, _ in counter.most_common(3)) or none


def rule_fix(facts: ClusterFacts, rules: Sequence[Rule] = RULES) -> Fix:
    """The first matching rule's fix, filled in with the cluster's facts."""
    rule = next(r for r in rules if r.matches(facts))
    text = rule.fix.format(
        terms=", ".join(facts.terms[:4]) or "these inputs",
        sources=_names(facts.sources, "(unknown)"),
        families=", ".join(k for k, _ in facts.families.most_common(3)),
        tiers=", ".join(k for k, _ in facts.tiers.most_common(2)),
        checks=", ".join(facts.main_checks()[:3] or [c for c, _ in facts.checks.most_common(2)]),
    )
    return Fix(text=text, by="rules", rule=rule.id)


class Fixer(Protocol):
    """Writes one cluster's fix. Contract: never raises; a failure falls back to :func:`rule_fix`."""

    name: str

    def fix(self, facts: ClusterFacts) -> Fix:
        """The suggested fix."""


class RuleFixer:
    """The rules table (the default: offline, instant, the same for the same cluster)."""

    name = "rules"

    def fix(self, facts: ClusterFacts) -> Fix:
        """The matching rule's fix."""
        return rule_fix(facts)


PROMPT = """You review a cluster of cases a fine-tuned language model failed in evaluation.
Failed checks (count): {checks}
Stages: {stages}. Drift families: {families}. Training sources: {sources}. Tiers: {tiers}.
Distinctive terms: {terms}
Examples (input => output):
{examples}

In at most three sentences: name what went wrong, then the most likely cause in the training data
or settings, then one concrete fix (data to drop or add, a training setting, or a checkpoint)."""


PLACEHOLDERS = ("checks", "stages", "families", "sources", "tiers", "terms", "examples")


def check_template(template: str) -> str:
    """``template`` when it names only :data:`PLACEHOLDERS`; else ``ValueError`` quoting the bad one."""
    try:
        template.format(**dict.fromkeys(PLACEHOLDERS, ""))
    except (KeyError, IndexError, ValueError) as exc:
        names = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise ValueError(f"fix prompt {template[:60]!r}: bad placeholder {exc}; use {names}") from None
    return template


def fix_prompt(facts: ClusterFacts, template: str = PROMPT) -> str:
    """The prompt for one cluster: the pinned :data:`PROMPT` (:data:`FIX_PROMPT_VERSION`) or ``template``."""
    examples = "\n".join(f"- {i[:300]!r} => {o[:300]!r}" for i, o in facts.examples[:3])
    return template.format(
        checks=", ".join(f"{c} ({n})" for c, n in facts.checks.most_common(6)),
        stages=", ".join(facts.stages) or "-",
        families=", ".join(facts.families) or "-",
        sources=", ".join(facts.sources) or "-",
        tiers=", ".join(facts.tiers) or "-",
        terms=", ".join(facts.terms) or "-",
        examples=examples or "-",
    )


class FixCache:
    """Model-written fixes by key in one SQLite file, each entry sealed; a bad entry is a miss."""

    def __init__(self, path: Path, secret: bytes | None = None) -> None:
        self.path, self._secret = path, secret
        self._db = open_cache_db(
            path, "CREATE TABLE IF NOT EXISTS fixes (key TEXT PRIMARY KEY, text TEXT, seal TEXT)"
        )

    def _seal(self, key: str, text: str) -> str:
        return seal_message(self._secret, "\0".join(("ftlineage-fix:v1", key, text)).encode())

    def get(self, key: str) -> str | None:
        """The cached text when its seal holds."""
        row = self._db.execute("SELECT text, seal FROM fixes WHERE key = ?", (key,)).fetchone()
        intact = row is not None and isinstance(row[0], str) and isinstance(row[1], str)
        if not intact or not hmac.compare_digest(row[1], self._seal(key, row[0])):
            return None
        return str(row[0])

    def put(self, key: str, text: str) -> None:
        """Store a fix."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO fixes (key, text, seal) VALUES (?, ?, ?)",
                (key, text, self._seal(key, text)),
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()


@dataclass
class LLMFixer:
    """A fix written by a model behind a judge backend, cached on the prompt and the backend's parameters."""

    backend: Backend
    cache: FixCache | None = None
    max_chars: int = 800
    name: str = "llm"
    template: str = PROMPT
    calls: int = 0

    def __post_init__(self) -> None:
        check_template(self.template)

    def key(self, prompt: str) -> str:
        """The cache key: prompt version, backend parameters and the whole prompt (the template filled in)."""
        params: dict[str, Any] = jsonable(self.backend.params)
        return sha256_json({"version": FIX_PROMPT_VERSION, "params": params, "prompt": prompt}, domain="fix")

    def fix(self, facts: ClusterFacts) -> Fix:
        """Ask the model once per distinct prompt; a failed call or an empty reply falls back to the rule."""
        prompt = fix_prompt(facts, self.template)
        key, by = self.key(prompt), f"llm:{self.backend.params.get('model', self.name)}"
        rule = rule_fix(facts)
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            return Fix(text=cached, by=by, rule=rule.rule, prompt_sha=key, cached=True)
        try:
            self.calls += 1
            reply = " ".join(self.backend.complete(prompt).split())[: self.max_chars]
        except JudgeCallError as exc:
            return rule.model_copy(update={"text": f"{rule.text} (model fixer failed: {str(exc)[:160]})"})
        if not reply:
            return rule.model_copy(update={"text": f"{rule.text} (model fixer gave an empty reply)"})
        if self.cache:
            self.cache.put(key, reply)
        return Fix(text=reply, by=by, rule=rule.rule, prompt_sha=key)
