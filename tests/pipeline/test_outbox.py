"""The trace outbox: each trace in the store once and whole, whatever a kill -9 interrupted (issue 37)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from ftlineage.errors import BadInputError
from ftlineage.pipeline._outbox import TraceOutbox
from ftlineage.testing import InMemoryTracker
from ftlineage.tracking import Span, StoredTrace, TraceLedger

SPANS = [
    Span(
        "case-1",
        "CHAIN",
        {"prompt": "p"},
        {"output": "o"},
        {"a": "1"},
        children=(Span("score", "EVALUATOR", {}, {"s": 1.0}, {"a": "1"}),),
        assessments=({"name": "s", "value": 1.0, "source": "x"}, {"name": "r", "value": "o", "source": "y"}),
    ),
]


@dataclass
class LedgerTracker(InMemoryTracker):
    """An in-memory tracker whose store can be listed and pruned, like MLflow's."""

    stored: dict[str, StoredTrace] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    prefix: str = "tr"  # trace ids: <prefix>-0, <prefix>-1, ...

    def log_trace(
        self,
        name: str,
        spans: Sequence[Span | Mapping[str, Any]],
        attributes: dict[str, str],
        *,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        super().log_trace(name, spans, attributes, inputs=inputs, outputs=outputs)
        trace_id = f"{self.prefix}-{len(self.sent)}"
        self.sent.append(name)
        self.stored[trace_id] = StoredTrace(trace_id, name, True, 2)
        return trace_id

    def stored_traces(self) -> list[StoredTrace]:
        return list(self.stored.values())

    def delete_traces(self, trace_ids: Sequence[str]) -> None:
        for trace_id in trace_ids:
            self.stored.pop(trace_id, None)


def _names(tracker: LedgerTracker) -> list[str]:
    return sorted(t.name for t in tracker.stored.values())


def test_a_trace_sent_twice_is_logged_once_unless_replaced(tmp_path):
    tracker = LedgerTracker()
    assert isinstance(tracker, TraceLedger)
    box = TraceOutbox(tmp_path / "outbox", tracker)
    first = box.send("checkpoint-4", SPANS, {"k": "v"}, outputs={"m": 0.5})
    assert box.send("checkpoint-4", SPANS, {"k": "v"}) == first  # a re-scored checkpoint
    assert tracker.sent == ["checkpoint-4"]
    again = box.send("arena", SPANS, {}, replace=True)
    replaced = box.send("arena", SPANS, {}, replace=True)  # a rerun judges the arena again
    assert replaced != again
    assert _names(tracker) == ["arena", "checkpoint-4"]


def test_reconcile_keeps_whole_copies_and_resends_what_a_kill_cut_short(tmp_path):
    killed = LedgerTracker()
    box = TraceOutbox(tmp_path / "outbox", killed)
    for name in ("checkpoint-0", "checkpoint-4", "checkpoint-8", "arena"):
        box.send(name, SPANS, {"k": "v"})
    stored = killed.stored
    # what the kill left: 0 whole; 4 twice (a re-score before the outbox); 8 without its
    # assessments (still queued); arena's receipt never written and its trace cut off mid-write
    stored["tr-dup"] = StoredTrace("tr-dup", "checkpoint-4", True, 2)
    stored["tr-2"] = StoredTrace("tr-2", "checkpoint-8", True, 0)
    del stored["tr-3"]
    (tmp_path / "outbox" / "arena.sent").unlink()
    stored["tr-cut"] = StoredTrace("tr-cut", "", False)
    resumed = LedgerTracker(stored=stored, prefix="resumed")
    assert TraceOutbox(tmp_path / "outbox", resumed).reconcile() == 2
    assert sorted(resumed.sent) == ["arena", "checkpoint-8"]
    assert _names(resumed) == ["arena", "checkpoint-0", "checkpoint-4", "checkpoint-8"]
    assert all(t.complete and t.assessments == 2 for t in resumed.stored.values())
    assert resumed.traces["checkpoint-8"][0].children[0].outputs == {"s": 1.0}  # resent from the outbox
    assert TraceOutbox(tmp_path / "outbox", resumed).reconcile() == 0  # settled


def test_reconcile_without_a_ledger_resends_only_traces_without_a_receipt(tmp_path):
    box = TraceOutbox(tmp_path / "outbox", InMemoryTracker())
    box.send("checkpoint-0", SPANS, {})
    box.send("checkpoint-4", SPANS, {})
    (tmp_path / "outbox" / "checkpoint-4.sent").unlink()
    resumed = InMemoryTracker()
    assert TraceOutbox(tmp_path / "outbox", resumed).reconcile() == 1
    assert list(resumed.traces) == ["checkpoint-4"]


def test_a_fresh_run_reconciles_nothing_and_asks_the_store_nothing(tmp_path):
    class Refuses(LedgerTracker):
        def stored_traces(self) -> list[StoredTrace]:
            raise AssertionError("a run with an empty outbox must not query the store")

    assert TraceOutbox(tmp_path / "outbox", Refuses()).reconcile() == 0


def test_an_outbox_file_from_a_newer_release_is_refused(tmp_path):
    box = TraceOutbox(tmp_path / "outbox", InMemoryTracker())
    box.send("checkpoint-0", SPANS, {})
    path = tmp_path / "outbox" / "checkpoint-0.json"
    path.write_text(path.read_text().replace('"schema_version":1', '"schema_version":99'))
    with pytest.raises(BadInputError, match="newer"):
        TraceOutbox(tmp_path / "outbox", InMemoryTracker()).reconcile()


def test_a_trace_name_that_is_not_a_file_name_is_refused(tmp_path):
    box = TraceOutbox(tmp_path / "outbox", InMemoryTracker())
    with pytest.raises(ValueError, match="but got '../x'"):
        box.send("../x", SPANS, {})
