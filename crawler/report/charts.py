"""Charts of a report group as inline SVG (or PNG for mail), drawn with matplotlib's Agg/SVG backends.

Why matplotlib: it draws offline in-process with no browser or JS engine, and with `svg.fonttype: path` every
glyph is a path, so the SVG needs no font on the reader's machine (CJK included) and carries no <text> a page
could restyle. Altair would need vl-convert (a bundled Deno/V8) to make an SVG. A CJK font must be installed
where the report is *made* (Debian: fonts-noto-cjk or fonts-wqy-microhei); without one CJK glyphs show as boxes.

The chart's `<svg class="nr-chart" data-counts="0,2,1,...">` carries every bucket's count in order; every bar
(non-empty bucket, in order) is wrapped in `<g class="nr-bar" data-label=... data-count=...>` with a `<title>`
(a tooltip without JavaScript), so tests and scripts can read the counts back from the page.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib import font_manager  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

log = logging.getLogger("newsradar.report")
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "Droid Sans Fallback")
BAR = "#3b6ea5"
BASELINE = "#d9534f"


@functools.cache
def cjk_font() -> str | None:
    """The first installed CJK font family matplotlib can use, or None (logged once: CJK glyphs show as boxes).

    matplotlib caches the system's font list when first run; a CJK font installed after that is found by its
    file name and added."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FAMILIES if f in installed), None)
    if found is None:
        for path in font_manager.findSystemFonts():
            if re.search(r"NotoSansCJK|wqy-microhei|wqy-zenhei|DroidSansFallback", path, re.I):
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((f for f in CJK_FAMILIES if f in installed), None)
    if found is None:
        log.warning("no CJK font found (Debian: apt-get install fonts-noto-cjk): Chinese text in charts shows as boxes")
    return found


def _style() -> dict[str, Any]:
    cjk = cjk_font()
    families = ["DejaVu Sans"] + ([cjk] if cjk else [])
    return {"svg.fonttype": "path", "font.family": families, "font.size": 9, "svg.hashsalt": "newsradar",
            "axes.spines.top": False, "axes.spines.right": False}


def _figure(series: list[tuple[str, int]], baseline: float, title: str, ticks: list[str], tick_every: int):
    fig, ax = plt.subplots(figsize=(7.2, 2.4), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.13)  # fixed: tight_layout costs a redraw
    # one collection of the non-empty buckets' bars: a patch per bar costs ~3x the time (168 per hour chart)
    verts = [[(k - 0.4, 0), (k - 0.4, c), (k + 0.4, c), (k + 0.4, 0)] for k, (_, c) in enumerate(series) if c]
    ax.add_collection(PolyCollection(verts, facecolors=BAR, edgecolors="none", gid="nrbars"))
    ax.axhline(baseline, color=BASELINE, linestyle="--", linewidth=1.2, gid="nrbaseline",
               label=f"baseline {baseline:.2f}")
    ax.set_title(title, loc="left")
    ax.set_xlim(-0.6, len(series) - 0.4)
    ax.set_xticks(list(range(len(series)))[::tick_every], ticks[::tick_every], rotation=0)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(bottom=0, top=max([c for _, c in series] + [baseline, 1]) * 1.15)
    ax.legend(loc="upper right", frameon=False)
    return fig


def _render(fig, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buf.getvalue()


def _annotate(svg: str, series: list[tuple[str, int]], prefix: str, baseline: float) -> str:
    """Strip the XML prolog, make ids unique on the page, and label bars and baseline with their numbers."""
    svg = svg[svg.index("<svg"):]
    counts = ",".join(str(c) for _, c in series)
    svg = svg.replace("<svg ", f'<svg class="nr-chart" data-counts="{counts}" ', 1)
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    drawn = iter([(label, count) for label, count in series if count])

    def bar(m: re.Match) -> str:
        label, count = next(drawn)
        return (f'<g class="nr-bar" data-label="{escape(label)}" data-count="{count}">'
                f'<title>{escape(label)}: {count}</title>{m.group(0)}</g>')

    def bars(m: re.Match) -> str:
        return m.group(1) + re.sub(r"<path [^>]*/>", bar, m.group(2)) + m.group(3)

    svg = re.sub(rf'(<g id="{prefix}-nrbars">)(.*?)(</g>)', bars, svg, count=1, flags=re.S)
    svg = svg.replace(f'<g id="{prefix}-nrbaseline">',
                      f'<g id="{prefix}-baseline" class="nr-baseline" data-baseline="{baseline}">'
                      f'<title>baseline {baseline:.2f}</title>', 1)
    return svg


def group_charts(group: dict[str, Any], prefix: str, fmt: str = "svg") -> dict[str, str | bytes]:
    """{'day': chart, 'hour': chart} for one report group: SVG markup (str) or PNG bytes."""
    day = [(d["day"], d["count"]) for d in group["per_day"]]
    hour = [(h["hour"], h["count"]) for h in group["per_hour"]]
    label = ("@" if group["kind"] == "watchlist" else "rule ") + group["name"]
    out: dict[str, str | bytes] = {}
    with plt.rc_context(_style()):
        specs = (("day", day, group["baseline_per_day"], f"{label}: mentions per day",
                  [d[5:] for d, _ in day], 1),
                 ("hour", hour, group["baseline_per_hour"], f"{label}: mentions per hour",
                  [h[5:10] + " " + h[11:13] + "h" for h, _ in hour], max(1, len(hour) // 7)))
        for key, series, baseline, title, ticks, every in specs:
            data = _render(_figure(series, baseline, title, ticks, every), fmt)
            out[key] = _annotate(data.decode(), series, f"{prefix}{key}", baseline) if fmt == "svg" else data
    return out
