"""A one-page, self-contained HTML corpus report (plots embedded as PNG data URIs)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from ftlineage.audit._report import FLAGS, AuditReport, source_mark

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37}.blocked{color:#c62828}
.grid{display:flex;flex-wrap:wrap;gap:1em}img{max-width:520px;border:1px solid #eee}"""


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plots(report: AuditReport) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh(list(FLAGS)[::-1], [report.counts.get(f, 0) for f in FLAGS][::-1], color="#c62828")
    ax.set_title("Rows per flag")
    ax.set_xlabel("rows")
    out.append(_png(fig))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, (name, st) in zip(axes, report.lengths.items(), strict=False):
        if st.counts:
            ax.stairs(st.counts, st.edges, fill=True, color="#1565c0")
            ax.set_xscale("symlog")
        ax.set_title(f"{name} length (chars)")
    out.append(_png(fig))
    sources = sorted(report.sources)
    if sources:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.35 * len(sources)))
        left = [0.0] * len(sources)
        for flag in FLAGS:
            vals = [report.sources[s].flags.get(flag, 0) / max(report.sources[s].rows, 1) for s in sources]
            if any(vals):
                ax.barh(sources, vals, left=left, label=flag)
                left = [a + b for a, b in zip(left, vals, strict=True)]
        ax.set_title("Flags per source (share of the source's rows)")
        if any(left):
            ax.legend(fontsize=7, loc="lower right")
        out.append(_png(fig))
    return out


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{cells}</table>"


def render_html(report: AuditReport) -> str:
    """The corpus report a reviewer opens in a browser."""
    esc = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Corpus audit</title>"
        f"<style>{_CSS}</style></head><body><h1>Corpus audit</h1>",
        f"<p class='{report.verdict}'><b>Verdict: {report.verdict.upper()}</b> — {report.rows_in:,} rows in, "
        f"{report.rows_kept:,} kept, {report.rows_malformed:,} malformed.</p>",
        "<ul>" + "".join(f"<li>{esc(r)}</li>" for r in report.reasons) + "</ul>",
        f"<p>Corpus SHA-256 <code>{report.corpus_sha}</code> · engine {esc(report.engine)} · scanners "
        f"{esc(report.scanner_engine)} · seed {report.seed}</p>",
        "<div class='grid'>" + "".join(_plots(report)) + "</div>",
        "<h2>Per category</h2>",
        _table(
            ["flag", "rows", "dropped"],
            [[f, report.counts.get(f, 0), report.dropped.get(f, 0)] for f in FLAGS],
        ),
        "<h2>Per source</h2>",
        _table(
            ["source", "rows", "refusal rate", "flagged"],
            [
                [
                    n + source_mark(report, n),
                    s.rows,
                    f"{s.refusal_rate:.1%}",
                    s.flagged,
                ]
                for n, s in sorted(report.sources.items())
            ],
        ),
    ]
    if report.labels:
        parts += ["<h2>Per label</h2>", _table(["label", "rows"], sorted(map(list, report.labels.items())))]
    if report.label_noise:
        ln = report.label_noise
        parts.append(
            f"<p>Label noise: {ln.sample_size} relabelled, agreement {ln.agreement:.1%}, "
            f"Cohen's kappa {ln.kappa:.2f}.</p>"
        )
    parts += [
        "<h2>Notes</h2><ul>" + "".join(f"<li>{esc(x)}</li>" for x in report.findings) + "</ul>",
        f"<p>Semantic dedup: {esc(report.semantic)}</p>",
        "<h2>Thresholds</h2>",
        _table(["setting", "value"], sorted(map(list, report.thresholds.items()))),
        "</body></html>",
    ]
    return "\n".join(parts)
