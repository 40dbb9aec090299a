"""Pages that only exist after JavaScript, for the rendering tests (issue 16), served by tests.support.site.Site.

- `/js/` — a listing whose article links are built by a script after a timer (the HTML Scrapy gets has none);
- `/js/story-N.html` — articles whose body paragraphs are injected by a script after a timer;
- `/js/never.html` — a listing whose script never builds the links (`wait_for` is never satisfied);
- `/js/pic.png`, `/js/font.woff2` — a picture and a font the pages reference (the browser must not load them).

`chromium()` is the system browser, or a skip that says what to install.
"""

from __future__ import annotations

import json

import pytest

from crawler.config.rendering import INSTALL_BROWSER, INSTALL_EXTRA, extra_installed, find_browser

WAIT_FOR = "a.headline, #story p"  # the listing's links, or an article's injected paragraphs

STORIES = {
    "story-1": ("Rendered rally lifts chip makers",
                ["Chip makers rallied on Tuesday after the exchange published new figures on domestic computing "
                 "power, with orders for accelerators rising for a third straight month.",
                 "Analysts said the rendered figures showed demand spreading from cloud providers to banks and "
                 "insurers, which are building their own inference clusters this year.",
                 "The index of semiconductor shares closed up four percent, its best day since the spring."]),
    "story-2": ("Script-built story on iFlytek earnings",
                ["iFlytek reported quarterly revenue above expectations, helped by contracts for its speech "
                 "models with provincial governments and schools across the country.",
                 "The company said it would keep spending on research and expected margins to recover in the "
                 "second half as new products reached customers.",
                 "Its shares rose in early trading before giving back part of the gain by the close."]),
}


def chromium() -> str:
    """The system Chromium and scrapy-playwright, or a skip naming what to install."""
    if not extra_installed():
        pytest.skip(f"scrapy-playwright is not installed ({INSTALL_EXTRA}): rendering tests skipped")
    browser = find_browser()
    if browser is None:
        pytest.skip(f"no Chromium on PATH ({INSTALL_BROWSER}): rendering tests skipped")
    return browser


def listing(links: list[str], delay_ms: int = 300) -> str:
    return f"""<!doctype html><html><head><title>Markets (rendered)</title>
<link rel="preload" href="/js/font.woff2" as="font" type="font/woff2" crossorigin>
<style>@font-face {{ font-family: x; src: url(/js/font.woff2); }} body {{ font-family: x; }}</style></head>
<body><h1>Latest</h1><img src="/js/pic.png" alt="logo"><ul id="list"></ul>
<script>
setTimeout(function () {{
  var links = {json.dumps(links)};
  var list = document.getElementById("list");
  links.forEach(function (href, i) {{
    var li = document.createElement("li"), a = document.createElement("a");
    a.className = "headline"; a.href = href; a.textContent = "Story " + (i + 1);
    li.appendChild(a); list.appendChild(li);
  }});
}}, {delay_ms});
</script></body></html>"""


def article(title: str, paragraphs: list[str], delay_ms: int = 300) -> str:
    return f"""<!doctype html><html><head><title>{title} - Rendered News</title></head>
<body><header><a href="/js/">Rendered News</a></header><img src="/js/pic.png" alt="">
<article><h1>{title}</h1><div id="story"></div></article>
<script>
setTimeout(function () {{
  var story = document.getElementById("story");
  {json.dumps(paragraphs)}.forEach(function (text) {{
    var p = document.createElement("p"); p.textContent = text; story.appendChild(p);
  }});
}}, {delay_ms});
</script></body></html>"""


def publish(site) -> dict[str, str]:
    """The rendered listing and its articles on `site`; returns {'listing': url, 'never': url}."""
    site.add("/js/pic.png", b"\x89PNG\r\n\x1a\n", "image/png")
    site.add("/js/font.woff2", b"wOF2", "font/woff2")
    site.add("/js/never.html", "<html><head><title>Never</title></head><body><p>loading ...</p>"
                               "<script>/* the links never come */</script></body></html>")
    for key, (title, paragraphs) in STORIES.items():
        site.add(f"/js/{key}.html", article(title, paragraphs))
    return {"listing": site.add("/js/", listing([f"/js/{key}.html" for key in STORIES])),
            "never": site.url("/js/never.html")}


def config(urls: dict[str, str], store: str, render: str | None = "all", extra: str = "",
           timeout: str = "20s") -> str:
    render_keys = f"""    render: {render}
    wait_for: "{WAIT_FOR}"
    render_timeout: {timeout}
""" if render else ""
    return f"""store: {store}
max_age: 3650d
fetch:
  delay: 0s
  timeout: 10s
sources:
  - name: rendered
    type: html
    allow_private: true
    url: {urls['listing']}
    links: "a.headline"
{render_keys}{extra}"""
