"""Render a run diff for a terminal and as a self-contained HTML page."""

from __future__ import annotations

import html

from ftlineage.compare._diff import RunDiff


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "—"


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _interval(iv: tuple[float, float] | None) -> str:
    return f"[{iv[0]:+.4f}, {iv[1]:+.4f}]" if iv else ""


def summary(diff: RunDiff) -> str:
    """One sentence: what changed."""
    inputs = ", ".join(diff.changed_inputs) or "no input SHA"
    other = ", ".join(diff.changed_other)
    flips = sum(f.direction == "pass→fail" for f in diff.flips)
    return (
        f"changed inputs: {inputs}"
        + (f" (also: {other})" if other else "")
        + f"; {flips} case(s) flipped pass→fail, {len(diff.flips) - flips} fail→pass"
    )


def render_text(diff: RunDiff, max_flips: int = 20) -> str:
    """A plain-text report: SHAs, metric deltas with intervals, flipped cases."""
    lines = [f"run A {diff.run_a}  →  run B {diff.run_b}", summary(diff), ""]
    for key, (a, b) in {**diff.changed_inputs, **diff.changed_other}.items():
        lines.append(f"  {key:<16} {_short(a)} → {_short(b)}")
    lines += ["", f"{'metric':<32} {'A':>8} {'B':>8} {'Δ (B−A)':>9}  95% paired bootstrap"]
    for m in diff.metrics:
        lines.append(
            f"{m.name:<32} {_fmt(m.a):>8} {_fmt(m.b):>8} {_fmt(m.delta, True):>9}  {_interval(m.interval)}"
        )
    if diff.flips:
        lines += ["", f"flipped cases ({len(diff.flips)}; first {min(max_flips, len(diff.flips))}):"]
        for f in diff.flips[:max_flips]:
            prompt = " ".join(f.prompt.split())[:90]
            lines.append(f"  {f.direction}  {f.id} [{f.part}/{f.family}]  input: {prompt}")
    return "\n".join(lines) + "\n"


def render_html(diff: RunDiff) -> str:
    """The same report as one HTML page (every flipped case, with both outputs)."""
    e = html.escape
    shas = "".join(
        f"<tr><td>{e(k)}</td><td><code>{e(a or '—')}</code></td><td><code>{e(b or '—')}</code></td></tr>"
        for k, (a, b) in {**diff.changed_inputs, **diff.changed_other}.items()
    )
    metrics = "".join(
        f"<tr><td>{e(m.name)}</td><td>{_fmt(m.a)}</td><td>{_fmt(m.b)}</td><td>{_fmt(m.delta, True)}</td>"
        f"<td>{_interval(m.interval)}</td></tr>"
        for m in diff.metrics
    )
    flips = "".join(
        f"<tr><td>{e(f.direction)}</td><td>{e(f.id)}</td><td>{e(f.part)}/{e(f.family)}</td>"
        f"<td><pre>{e(f.prompt)}</pre></td><td><pre>{e(f.output_a)}</pre></td><td><pre>{e(f.output_b)}</pre></td></tr>"
        for f in diff.flips
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>ftlineage diff</title>
<style>body{{font-family:sans-serif;margin:2em}}
table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
pre{{white-space:pre-wrap;max-width:40em;margin:0}}</style>
</head><body><h1>Run diff</h1><p>A <code>{e(diff.run_a)}</code> → B <code>{e(diff.run_b)}</code></p>
<p><b>{e(summary(diff))}</b></p>
<h2>Changed SHAs</h2><table><tr><th>key</th><th>A</th><th>B</th></tr>{shas}</table>
<p>Unchanged: {e(", ".join(diff.unchanged))}</p>
<h2>Metrics</h2><table><tr><th>metric</th><th>A</th><th>B</th><th>Δ (B−A)</th>
<th>95% paired bootstrap</th></tr>{metrics}</table>
<h2>Flipped cases</h2><table><tr><th>flip</th><th>id</th><th>part</th><th>input</th>
<th>output A</th><th>output B</th></tr>{flips}</table>
</body></html>
"""
