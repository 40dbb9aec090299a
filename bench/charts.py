"""Benchmark (issue 15): the report's charts as SVG with matplotlib (what newsradar uses) vs Altair + vl-convert.

Both draw the same group: a watchlist named "国产算力 / 科大讯飞" (so both titles are Chinese), a per-day chart of
7 days and a per-hour chart of 168 hours, with the period's baseline dashed and the real charts' tick labels
("MM-DD", "MM-DD HHh"; the real charts have CJK only in the title). matplotlib is newsradar's own
`crawler.report.charts.group_charts` on a synthetic group; Altair is an equivalent two-chart spec converted by
`vl_convert.vegalite_to_svg`. Measured, per group (day + hour chart):

- SVG bytes, raw and gzipped;
- render CPU: median of `--n` renders in this process, the two libraries interleaved (wall shown beside it);
- first call: import + the first group, CPU and wall, in a fresh process (`--first-call LIB` runs that half);
- how the SVG carries its text: `<text>` elements with a `font-family` (the reader's fonts draw them) or paths;
- whether the CJK title is drawn: both SVGs are shown in Debian's `chromium --headless --screenshot` (file://
  only, every host name unresolvable), once with the system's fonts and once with a fontconfig that has only
  DejaVu (a reader without a CJK font, e.g. a mail client on a bare machine). Chromium draws every glyph that no
  font has with the same .notdef box, so the page is rendered three times: the real title, the same title with
  every CJK character replaced by 国 (same width), and the title with its CJK removed. Real glyphs: the first two
  differ. Tofu: they are identical but differ from the third. Blank: all three are identical.

Screenshots go to a temporary folder under /tmp (`--keep` prints it and leaves it). Altair and vl-convert are not
runtime dependencies: `pip install -e '.[bench]'`; without them only matplotlib is measured.

    python bench/charts.py              # 20 renders each, browser check
    python bench/charts.py --n 5 --no-browser
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# matplotlib, altair and vl_convert are imported inside the render functions, not here: the first-call figure
# is the cost of importing them plus the first chart, measured in a fresh process that has imported neither.

NAME = "国产算力 / 科大讯飞"
CJK = re.compile(r"[\u3400-\u9fff]")
START = datetime(2026, 11, 25)
BAR, BASELINE = "#3b6ea5", "#d9534f"  # crawler.report.charts's colours (importing it would import matplotlib)
DEJAVU_ONLY = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{cache}</cachedir></fontconfig>
"""


def synthetic_group(name: str = NAME) -> dict:
    """A report group as crawler.report.queries builds it: 168 hourly counts with a daily cycle, their day sums."""
    rng = random.Random(15)
    hours = [START + timedelta(hours=k) for k in range(168)]
    counts = [rng.randint(0, 2) + (rng.randint(0, 6) if 8 <= h.hour <= 18 else 0) for h in hours]
    per_hour = [{"hour": h.strftime("%Y-%m-%dT%H:00"), "count": c} for h, c in zip(hours, counts)]
    per_day = [{"day": (START + timedelta(days=d)).strftime("%Y-%m-%d"), "count": sum(counts[d * 24:(d + 1) * 24])}
               for d in range(7)]
    return {"kind": "watchlist", "name": name, "per_day": per_day, "per_hour": per_hour,
            "baseline_per_day": round(sum(counts) / 7, 3), "baseline_per_hour": round(sum(counts) / 168, 3)}


def render_matplotlib(group: dict) -> list[str]:
    from crawler.report.charts import group_charts  # lazy: see the note at the top

    charts = group_charts(group, "b")
    return [charts["day"], charts["hour"]]


def _altair_chart(alt, series: list[tuple[str, int]], baseline: float, title: str, ticks: list[str], every: int):
    values = [{"label": tick, "count": count} for tick, (_, count) in zip(ticks, series)]
    bars = alt.Chart(alt.Data(values=values)).mark_bar(color=BAR).encode(
        x=alt.X("label:N", sort=None, axis=alt.Axis(values=ticks[::every], labelAngle=0, title=None)),
        y=alt.Y("count:Q", axis=alt.Axis(title=None, tickMinStep=1)))
    rule = alt.Chart(alt.Data(values=[{"b": baseline}])).mark_rule(
        color=BASELINE, strokeDash=[4, 2], strokeWidth=1.2).encode(y="b:Q")
    legend = alt.Chart(alt.Data(values=[{"t": f"baseline {baseline:.2f}"}])).mark_text(
        align="right", baseline="top", fontSize=12).encode(text="t:N", x=alt.value(alt.expr("width")),
                                                           y=alt.value(0))
    # matplotlib's 7.2 x 2.4 in figure at 9 pt is 691 x 230 CSS px with 12 px labels and a 14.4 px title
    return (bars + rule + legend).properties(
        width=691, height=230, title=alt.TitleParams(title, anchor="start", fontSize=14.4, fontWeight="normal"),
    ).configure(font="DejaVu Sans, Noto Sans CJK SC, sans-serif", autosize={"type": "fit", "contains": "padding"}
                ).configure_axis(labelFontSize=12).configure_view(stroke=None)


def render_altair(group: dict) -> list[str]:
    """The same two charts as group_charts draws (691x230 CSS px, titles, ticks, bars, dashed baseline,
    legend). Not the report's markup contract: no `data-counts` and no per-bar `<title>` (Vega gives each bar an
    aria-label instead); group_charts's post-processing for that is in matplotlib's time, not in Altair's."""
    import altair as alt  # lazy: see the note at the top
    import vl_convert as vlc

    label = "@" + group["name"]
    day = [(d["day"], d["count"]) for d in group["per_day"]]
    hour = [(h["hour"], h["count"]) for h in group["per_hour"]]
    specs = ((day, group["baseline_per_day"], f"{label}: mentions per day", [d[5:] for d, _ in day], 1),
             (hour, group["baseline_per_hour"], f"{label}: mentions per hour",
              [h[5:10] + " " + h[11:13] + "h" for h, _ in hour], max(1, len(hour) // 7)))
    return [vlc.vegalite_to_svg(_altair_chart(alt, *spec).to_dict(), vl_version="6.4") for spec in specs]


RENDERERS = {"matplotlib": render_matplotlib, "altair": render_altair}


def altair_missing() -> str | None:
    try:
        import altair  # noqa: F401  (only whether it is there)
        import vl_convert  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[bench]'): Altair/vl-convert not measured"
    return None


def first_call(lib: str) -> dict:
    """Import + first group in a fresh process: CPU (that process's own clock) and wall."""
    out = subprocess.run([sys.executable, __file__, "--first-call", lib], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _first_call_here(lib: str) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    RENDERERS[lib](synthetic_group())
    print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}))


def timings(libs: list[str], n: int) -> dict[str, dict]:
    group = synthetic_group()
    for lib in libs:
        RENDERERS[lib](group)  # warm: imports, font lookup, V8 start
    cpu: dict[str, list[float]] = {lib: [] for lib in libs}
    wall: dict[str, list[float]] = {lib: [] for lib in libs}
    for _ in range(n):
        for lib in libs:  # interleaved, so a busy moment on the shared machine hits both
            c, w = time.process_time(), time.perf_counter()
            RENDERERS[lib](group)
            cpu[lib].append(time.process_time() - c)
            wall[lib].append(time.perf_counter() - w)
    return {lib: {"cpu": statistics.median(cpu[lib]), "wall": statistics.median(wall[lib])} for lib in libs}


def svg_facts(svgs: list[str]) -> dict:
    text = "".join(svgs)
    texts = re.findall(r"<text\b[^>]*>([^<]*)", text)
    return {"raw": len(text.encode()), "gzip": sum(len(gzip.compress(s.encode(), 9)) for s in svgs),
            "text_elements": len(texts), "font_family": len(re.findall(r"font-family", text)),
            "cjk_as_characters": sum(len(CJK.findall(t)) for t in texts)}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(browser: str, svgs: list[str], png: Path, env: dict[str, str]) -> Image.Image:
    page = png.with_suffix(".html")
    body = "".join(f"<div>{s[s.index('<svg'):]}</div>" for s in svgs)
    page.write_text(f'<!doctype html><meta charset="utf-8"><body style="margin:0;background:#fff">{body}</body>',
                    encoding="utf-8")
    profile = png.parent / "profile"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
                    "--window-size=760,540", f"--screenshot={png}", page.as_uri()],
                   env=env, capture_output=True, timeout=120, check=True)
    return Image.open(png).convert("RGB")


def changed_pixels(a: Image.Image, b: Image.Image) -> int:
    return sum(ImageChops.difference(a, b).convert("L").histogram()[32:])


def cjk_check(browser: str, lib: str, workdir: Path, env: dict[str, str], tag: str) -> dict:
    real, same, none = (RENDERERS[lib](synthetic_group(name)) for name in (NAME, CJK.sub("国", NAME), CJK.sub("", NAME)))
    shots = [screenshot(browser, svgs, workdir / f"{lib}-{tag}-{kind}.png", env)
             for svgs, kind in ((real, "real"), (same, "same"), (none, "none"))]
    glyphs, ink = changed_pixels(shots[0], shots[1]), changed_pixels(shots[0], shots[2])
    verdict = "drawn" if glyphs else ("TOFU" if ink else "BLANK")
    return {"verdict": verdict, "glyph_pixels": glyphs, "ink_pixels": ink}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="renders per library for the median (default 20)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium CJK check")
    parser.add_argument("--keep", action="store_true", help="keep the screenshots and print where they are")
    parser.add_argument("--first-call", choices=sorted(RENDERERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_call:
        _first_call_here(args.first_call)
        return 0

    libs = ["matplotlib", "altair"]
    missing = altair_missing()
    if missing:
        print(missing)
        libs.remove("altair")
    group = synthetic_group()
    facts = {lib: svg_facts(RENDERERS[lib](group)) for lib in libs}
    firsts = {lib: first_call(lib) for lib in libs}
    times = timings(libs, args.n)

    checks: dict[str, dict[str, dict]] = {lib: {} for lib in libs}
    browser = None if args.no_browser else _chromium()
    if browser is None and not args.no_browser:
        print("no chromium on PATH (Debian: apt-get install chromium): CJK rendering not checked")
    workdir = Path(tempfile.mkdtemp(prefix="nr-charts-", dir="/tmp"))
    try:
        if browser:
            (workdir / "fonts.conf").write_text(DEJAVU_ONLY.format(cache=workdir / "fc-cache"), encoding="utf-8")
            envs = {"system fonts": dict(os.environ),
                    "DejaVu only": {**os.environ, "FONTCONFIG_FILE": str(workdir / "fonts.conf")}}
            for lib in libs:
                for tag, env in envs.items():
                    checks[lib][tag] = cjk_check(browser, lib, workdir, env, tag.split()[0].lower())
    finally:
        if args.keep:
            print(f"screenshots kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\none group = a 7-day chart + a 168-hour chart, title {NAME!r}; render CPU = median of {args.n}")
    header = ("library", "SVG raw", "SVG gzip", "render CPU", "(wall)", "first call CPU", "(wall)",
              "<text> / font-family", "CJK as characters")
    rows = [header]
    for lib in libs:
        f, t, first = facts[lib], times[lib], firsts[lib]
        rows.append((lib, f"{f['raw'] / 1024:.1f} KB", f"{f['gzip'] / 1024:.1f} KB", f"{t['cpu'] * 1000:.0f} ms",
                     f"{t['wall'] * 1000:.0f} ms", f"{first['cpu'] * 1000:.0f} ms", f"{first['wall'] * 1000:.0f} ms",
                     f"{f['text_elements']} / {f['font_family']}", str(f["cjk_as_characters"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)))
    for lib in libs:
        for tag, c in checks[lib].items():
            print(f"CJK title, {lib}, reader with {tag}: {c['verdict']} "
                  f"({c['glyph_pixels']} px differ from 国-only title, {c['ink_pixels']} px from no-CJK title)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
