"""The tiers table and the tier card: what the run, the card and the terminal show."""

from __future__ import annotations

import math

from ftlineage.gate import Check, GateDecision
from ftlineage.readers import parse_versioned
from ftlineage.tiers import Fidelity, TierRow, TiersReport, render_table, render_tier_card

FID = Fidelity(texts=8, positions=120, mean_kl=0.0123, p99_kl=0.2, max_kl=0.5, top1_agreement=0.975)


def _report():
    rows = (
        TierRow(
            name="int8",
            quantizer="torchao",
            library="torchao==0.18.0",
            bits=8,
            decision="pass",
            size_bytes=2_000_000,
            ms_per_case=30.0,
            metrics={"heldout/field_accuracy": 0.5},
            fidelity=FID,
            arena={"wins": 1, "losses": 2, "ties": 9, "win_rate": 1 / 3},
            version="4",
        ),
        TierRow(
            name="int2",
            quantizer="torchao",
            bits=2,
            group_size=32,
            decision="blocked",
            reasons=("tier int2: heldout/field_accuracy 0.2 vs full precision 0.5, 30.0 points lost",),
            size_bytes=2_100_000,
            ms_per_case=45.0,
            metrics={"heldout/field_accuracy": 0.2},
        ),
        TierRow(name="nf4", quantizer="bitsandbytes", bits=4, decision="error", reasons=("no GPU",)),
    )
    return TiersReport(
        reference_size_bytes=8_000_000,
        reference_ms_per_case=20.0,
        reference_metrics={"heldout/field_accuracy": 0.52},
        reference_model_sha="f" * 64,
        metrics=("heldout/field_accuracy",),
        rows=rows,
    )


def test_table_has_every_tier_beside_full_precision_with_ratios_and_reasons():
    text = render_table(_report())
    lines = text.splitlines()
    assert lines[0].startswith("| tier | size MB | ms/case | heldout/field_accuracy | KL (nats) | top-1 |")
    assert "| full precision | 8.00 | 20.0 | 0.520 |" in text
    assert "| int8 | 2.00 (0.25×) | 30.0 (1.50×) | 0.500 | 0.0123 | 0.975 | 1/2/9 | pass (v4) |" in text
    assert "| int2 | 2.10 (0.26×) | 45.0 (2.25×) | 0.200 | - | - | - | blocked |" in text
    assert "| nf4 | - | - | - | - | - | - | error |" in text
    assert "- **int2**: tier int2: heldout/field_accuracy 0.2 vs full precision 0.5, 30.0 points lost" in text
    assert "- **nf4**: no GPU" in text


def test_report_round_trips_and_replaces_a_row_in_place():
    report = _report()
    again = parse_versioned(TiersReport, report.model_dump_json(), "tiers.json")
    assert again == report
    moved = report.with_row(report.rows[0].model_copy(update={"version": None, "decision": "error"}))
    assert [r.name for r in moved.rows] == ["int8", "int2", "nf4"]
    assert moved.rows[0].decision == "error"
    assert math.isnan(TierRow(name="x", quantizer="q", bits=4, decision="error").ms_per_case)


def test_tier_card_carries_weights_sha_fidelity_and_every_check():
    decision = GateDecision(
        decision="pass",
        stage="tier",
        lineage={},
        checks=(Check(name="m", kind="metric", passed=True, reason="m kept 99%"),),
    )
    row = _report().rows[0].model_copy(update={"model_sha": "a" * 64})
    card = render_tier_card("healthcare-postcall", row, decision, "run123")
    assert "# healthcare-postcall — tier int8" in card
    assert "a" * 64 in card
    assert "run123" in card
    assert "torchao==0.18.0" in card
    assert "mean next-token KL 0.0123 nats" in card
    assert "top-1 agreement 0.975" in card
    assert "- ✅ m kept 99%" in card
