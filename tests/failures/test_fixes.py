"""Suggested fixes: the rules table, and a model-written fix against a real loopback server, cached."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from ftlineage.arena._backends import JudgeCallError, OpenAIChat
from ftlineage.failures import ClusterFacts, FixCache, LLMFixer, RuleFixer, fix_prompt, rule_fix


def _facts(checks, *, sources=(), tiers=(), families=(), terms=("clinic", "hours")):
    return ClusterFacts(
        checks=Counter(dict.fromkeys(checks, 10)),
        stages=Counter({"score": 10}),
        families=Counter(dict.fromkeys(families, 10)),
        tiers=Counter(dict.fromkeys(tiers, 10)),
        sources=Counter(dict.fromkeys(sources, 10)),
        kinds=Counter({"flip": 10}),
        terms=tuple(terms),
        examples=(("What time do you open?", "I'm sorry, I can't help."),),
        size=10,
    )


@pytest.mark.parametrize(
    ("checks", "kw", "rule", "says"),
    [
        (
            ["audit/refusal_contamination"],
            {"sources": ["vendor_batch_7"]},
            "audit-refusal-contamination",
            "drop or fix source 'vendor_batch_7'",
        ),
        (["drift/refusal.over_refusal"], {}, "over-refusal", "over-refuses on clinic, hours"),
        (["drift/refusal.missed_refusal"], {}, "missed-refusal", "safety set"),
        (["heldout/json_valid", "heldout/field_accuracy"], {}, "schema-adherence", "higher LoRA rank"),
        (["heldout/json_valid"], {"tiers": ["int4"]}, "tier-structured", "ship the next-higher tier"),
        (["heldout/hallucination"], {}, "hallucination", "the input does not hold"),
        (["drift/arithmetic"], {"families": ["arithmetic"]}, "capability-drift", "drift on arithmetic"),
        (["audit/eval_leak"], {"sources": ["s"]}, "audit-eval-leak", "eval_leak"),
        (["audit/label_conflict"], {"sources": ["s"]}, "audit-label-noise", "relabel"),
        (["arena/loss"], {}, "arena-loss", "loses to the baseline"),
        (["canary/loss"], {}, "canary-loss", "ftlineage failures freeze"),
        (["heldout/field_accuracy"], {}, "task-errors", "more training rows"),
    ],
)
def test_the_rules_table_keys_on_the_failing_checks(checks, kw, rule, says):
    fix = rule_fix(_facts(checks, **kw))
    assert (fix.rule, fix.by) == (rule, "rules")
    assert says in fix.text
    assert RuleFixer().fix(_facts(checks, **kw)) == fix


class _Broken:
    family, params = "x", {"model": "m"}

    def complete(self, prompt):
        raise JudgeCallError("connection refused")


def test_a_failed_model_call_falls_back_to_the_rule_and_says_so(tmp_path):
    fix = LLMFixer(_Broken(), FixCache(tmp_path / "f.sqlite")).fix(_facts(["heldout/hallucination"]))
    assert fix.rule == "hallucination"
    assert fix.by == "rules"
    assert "(model fixer failed: connection refused)" in fix.text


@pytest.mark.integration
def test_a_model_written_fix_comes_from_the_loopback_server_and_is_cached(chat_server, tmp_path):
    proc, url = chat_server
    backend = OpenAIChat(base_url=url, model="tiny", family="tiny", max_tokens=24, timeout=30, retries=1)
    facts = _facts(["drift/refusal.over_refusal"])
    # The pinned prompt is longer than the test's 20-step model reads; its own template is short.
    short = "Failed checks: {checks}. Fix:"
    first = LLMFixer(backend, FixCache(tmp_path / "fixes.sqlite", b"k" * 32), template=short).fix(facts)
    assert first.by == "llm:tiny", first.text
    assert first.rule == "over-refusal"
    assert not first.cached
    assert first.text
    assert first.prompt_sha
    assert len(first.prompt_sha) == 64
    proc.kill()  # the server is gone: the second answer can only come from the cache
    proc.wait()
    again = LLMFixer(backend, FixCache(tmp_path / "fixes.sqlite", b"k" * 32), template=short)
    second = again.fix(facts)
    assert (second.text, second.cached, again.calls) == (first.text, True, 0)
    other = _facts(["heldout/hallucination"])
    assert fix_prompt(other, short) != fix_prompt(facts, short)
    assert again.fix(other).by == "rules"  # not cached, server down: the rule, with why


def test_a_fix_prompt_with_an_unknown_placeholder_is_refused():
    with pytest.raises(ValueError, match=r"bad placeholder 'model'; use \{checks\}"):
        LLMFixer(_Broken(), template="Fix {model}")


def test_a_tampered_cached_fix_is_a_miss(tmp_path):
    class _Echo:
        family, params = "x", {"model": "echo"}
        calls = 0

        def complete(self, prompt):
            type(self).calls += 1
            return "Drop source X."

    path = tmp_path / "fixes.sqlite"
    facts = _facts(["heldout/hallucination"])
    LLMFixer(_Echo(), FixCache(path, b"key")).fix(facts)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE fixes SET text = 'Ship it anyway.'")
    fix = LLMFixer(_Echo(), FixCache(path, b"key")).fix(facts)
    assert (fix.text, fix.cached, _Echo.calls) == ("Drop source X.", False, 2)
