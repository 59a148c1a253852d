"""No file the failure feed writes shows a secret in clear, whatever its inputs held (issue 37).

Every planted secret goes into every field a collector reads (ids, sources, prompts, answers,
judge reasons, trace ids) and into what the run passes in (run id, lineage) and what a fixer
writes; the feed's JSON, HTML and text are then searched for any 12-character piece of each.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from ftlineage.failures import (
    ClusterFacts,
    FailedCase,
    FailureFeed,
    Fix,
    build_feed,
    from_arena,
    from_audit,
    from_canary,
    render_html,
    render_text,
)
from tests.audit.planted_secrets import PIECE, plant_secrets

PLANTED = plant_secrets(seed=11)


class _HashEmbedder:
    """Deterministic unit vectors from a text's hash: enough to cluster, no model to load."""

    name = "hash"

    def encode(self, texts):
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "big") for t in texts]
        out = np.asarray([np.random.default_rng(s).normal(size=16) for s in seeds], dtype=np.float32)
        out = out.reshape(len(texts), 16)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class _QuotingFixer:
    """A model-written fix that quotes what it should not."""

    name = "llm:quoting"

    def fix(self, facts: ClusterFacts) -> Fix:
        return Fix(text=f"rotate {PLANTED[facts.size % len(PLANTED)].text}", by=self.name, rule="fallback")


def _items() -> list[FailedCase]:
    audit_rows, arena, canary = [], [], []
    for n, p in enumerate(PLANTED):
        audit_rows.append(
            {
                "id": f"a{n} {p.text}",
                "source": p.text,
                "reasons": ["secret"],
                "prompt": p.text,
                "completion": p.text,
            }
        )
        arena.append(
            {
                "id": f"b{n} {p.text}",
                "prompt": p.text,
                "candidate": f"Sure: {p.text}",
                "baseline": p.text,
                "pick": "second",
                "candidate_first": True,
                "judge": p.text,
                "reason": f"the answer leaks {p.text}",
            }
        )
        canary.append(
            {
                "key": f"c{n} {p.text}",
                "prompt": p.text,
                "champion": p.text,
                "challenger": p.text,
                "outcome": "loss",
                "trace_id": p.text,
                "rubrics": {"challenger": {"json_valid": 0.0}, "champion": {"json_valid": 1.0}},
            }
        )
    return from_audit(audit_rows) + from_arena(arena, {}, trace_id=PLANTED[0].text) + from_canary(canary)


def _leaks(text: str) -> list[str]:
    where = {piece: f"{p.family}/{p.context}" for p in PLANTED for piece in p.pieces()}
    hits = {text[i : i + PIECE] for i in range(len(text) - PIECE + 1)} & where.keys()
    return sorted({where[h] for h in hits})


@pytest.fixture(scope="module")
def feed() -> FailureFeed:
    return build_feed(
        _items(),
        _HashEmbedder(),
        run_id=PLANTED[1].text,
        against=PLANTED[2].text,
        canary_run=PLANTED[3].text,
        lineage={PLANTED[4].text: PLANTED[5].text},
        fixer=_QuotingFixer(),
    )


def test_the_feed_json_html_and_text_show_no_secret(feed):
    assert len(feed.cases) == 3 * len(PLANTED)
    for written in (feed.model_dump_json(indent=1), render_html(feed), render_text(feed, top=100)):
        assert _leaks(written) == []


def test_a_feed_read_back_or_copied_past_validation_shows_no_secret(feed):
    again = FailureFeed.model_validate_json(feed.model_dump_json())
    assert again == feed  # masking twice changes nothing
    copied = feed.model_copy(update={"run_id": PLANTED[6].text, "unclustered": (PLANTED[7].text,)})
    assert _leaks(copied.model_dump_json()) == []
    assert _leaks(str(copied.model_dump())) == []
