"""The failure feed for a terminal (top clusters) and as one self-contained HTML page.

The feed's text is masked already (a :class:`~ftlineage.audit.MaskedModel`); what these return is
masked once more as a whole, the way every audit output is.
"""

from __future__ import annotations

import html

from ftlineage.audit import mask_sensitive
from ftlineage.failures._feed import Cluster, FailureFeed

_KINDS = ("flip", "new", "always", "loss", "alarm", "flagged")


def headline(feed: FailureFeed) -> str:
    """One line: how many failed cases of which kind, in how many clusters."""
    kinds = ", ".join(f"{feed.counts[k]} {k}" for k in _KINDS if feed.counts.get(k))
    scored = any(feed.counts.get(k) for k in ("flip", "new", "always"))
    n = len(feed.clusters)
    return (
        f"{len(feed.cases)} failed cases ({kinds or 'none'}) in {n} cluster{'' if n == 1 else 's'}"
        + (f", {len(feed.unclustered)} unclustered" if feed.unclustered else "")
        + (f"; flips against {feed.against}" if scored else "")
    )


def _line(c: Cluster) -> str:
    flips = f", {c.flips} flipped" if c.flips else ""
    return f"  {c.id} [{c.size} cases{flips}] {c.name}\n      fix: {c.fix.text}"


def render_text(feed: FailureFeed, top: int = 5) -> str:
    """The headline and the ``top`` clusters, each with its fix."""
    lines = [f"failures: {headline(feed)}"]
    lines += [_line(c) for c in feed.clusters[:top]]
    if len(feed.clusters) > top:
        lines.append(f"  ... {len(feed.clusters) - top} more clusters in failures/feed.html")
    return mask_sensitive("\n".join(lines) + "\n")


def _table(counts: dict[str, int]) -> str:
    e = html.escape
    return ", ".join(f"{e(k)} ({v})" for k, v in counts.items()) or "—"


def _cluster_html(feed: FailureFeed, c: Cluster) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(x.kind)}</td><td>{e(x.id)}</td><td>{e(x.part)}/{e(x.family)}</td>"
        f"<td>{e(', '.join(x.checks))}</td><td><pre>{e(x.prompt[:600])}</pre></td>"
        f"<td><pre>{e(x.output[:600])}</pre></td><td><pre>{e((x.baseline_output or '')[:600])}</pre></td>"
        f"<td>{e(x.source or '')}</td><td><code>{e(x.trace_id or '')}</code></td></tr>"
        for x in feed.cases_of(c)
    )
    return f"""<section id="{e(c.id)}"><h2>{e(c.id)} · {e(c.name)}</h2>
<p><b>Suggested fix</b> ({e(c.fix.by)}, rule {e(c.fix.rule)}{", cached" if c.fix.cached else ""}):
{e(c.fix.text)}</p>
<p>{c.size} cases: {_table(c.kinds)}. Checks: {_table(c.checks)}. Stages: {_table(c.stages)}.
Families: {_table(c.families)}. Sources: {_table(c.sources)}. Tiers: {_table(c.tiers)}.
Terms: {e(", ".join(c.terms))}. Traces: {e(", ".join(c.trace_ids) or "—")}</p>
<table><tr><th>kind</th><th>id</th><th>part</th><th>checks</th><th>input</th><th>output</th>
<th>baseline output</th><th>source</th><th>trace</th></tr>{rows}</table></section>"""


def render_html(feed: FailureFeed) -> str:
    """Every cluster with its fix and every case, as one page (logged as ``failures/feed.html``)."""
    e = html.escape
    index = "".join(
        f'<tr><td><a href="#{e(c.id)}">{e(c.id)}</a></td><td>{e(c.name)}</td><td>{c.size}</td>'
        f"<td>{c.flips}</td><td>{e(c.fix.text)}</td></tr>"
        for c in feed.clusters
    )
    noise = ", ".join(feed.unclustered) or "none"
    body = "".join(_cluster_html(feed, c) for c in feed.clusters)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>ftlineage failures</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
pre{{white-space:pre-wrap;max-width:32em;margin:0}}</style></head><body>
<h1>Failure feed</h1><p>Run <code>{e(feed.run_id)}</code>{
        f" · canary run <code>{e(feed.canary_run)}</code>" if feed.canary_run else ""
    } · {e(headline(feed))}</p>
<p>Embedder {e(feed.embedder)}; clustering {e(str(feed.clustering))}; fixes by {e(feed.fixer)}.</p>
<table><tr><th>cluster</th><th>name</th><th>cases</th><th>flips</th><th>suggested fix</th></tr>{index}</table>
<p>Unclustered (HDBSCAN noise): {e(noise)}</p>{body}</body></html>
"""
    return mask_sensitive(page)
