"""A small finance-news site, built page by page, to crawl end to end: the story newsradar started from.

`publish_site(site)` puts on a `tests.support.site.Site`:
- /rss.xml        an RSS feed: the iFlytek story (relative link), a GBK story, an entry whose page is gone (404)
- /markets/       a listing page linking the iFlytek story twice with different utm_ tails, a Big5 story and a
                  mislabelled story (header says iso-8859-1, body is UTF-8), plus nav links the selector ignores
- /news-sitemap.xml  a sitemap index -> /sitemap-news.xml, a Google News sitemap with one story
- /syndicated/iflytek.html  the iFlytek story republished with other chrome and title suffix; the feed links it
                  once `syndicate(site)` is called (after a first pass: "first seen" decides which is the copy)
- /private/secret.html  disallowed by robots.txt, linked from the listing
Each story's expected title, text fragments and time are in `STORIES`.
"""

from __future__ import annotations

import html
import json
import random

from tests.support.site import Site

IFLYTEK_BODY = [
    "At the 27th anniversary celebration of iFlytek, Chairman Liu Qingfeng laid out the company's strategic "
    "vision and direction for the new AI era. The core goal is to secure a unique position in the foundational "
    "dividends of artificial intelligence by achieving full-stack, self-developed, and controllable core models.",
    "\"If we only aim to be an artificial intelligence application company, iFlytek would betray its original "
    "mission,\" Liu Qingfeng stated. He pointed out that while many domestic companies have attempted to build on "
    "domestic computing power, iFlytek has emerged as a pioneer, becoming the earliest to train and infer large "
    "models on a fully domestic computing power foundation.",
    "Over the past three years, iFlytek has persistently advanced through the uncharted territory of full-stack, "
    "self-developed large models. From April to October 2023, the company conquered the training of large models.",
]
GBK_BODY = [
    "科大讯飞今日发布新一代星火大模型，公司表示将继续坚持在国产算力平台上训练和推理大模型。",
    "分析人士认为，国产算力生态的成熟将为人工智能产业带来新的增长动力，相关公司股价午后走强。",
    "据介绍，该模型在多项评测中表现优异，公司计划在下半年推出更多面向开发者的工具和服务。",
]
BIG5_BODY = [
    "科大訊飛董事長劉慶峰表示，公司將全面基於國產算力訓練大模型，並持續加大研發投入。",
    "市場人士指出，國產算力需求強勁，帶動相關供應鏈企業營收成長，投資人關注後續訂單狀況。",
    "公司同時宣布成立全資子公司，專注於開發者代碼與複雜智能體能力，力求在新時代取得突破。",
]
MISLABELLED_BODY = [
    "寒武纪发布公告称，公司第三季度营收同比大幅增长，主要受益于云端智能芯片出货量提升。",
    "公司表示，将继续加大研发投入，推动新一代产品的量产，并拓展更多行业客户的合作机会。",
    "业内人士认为，人工智能芯片市场竞争日趋激烈，企业需要在生态建设方面持续发力才能胜出。",
]
SITEMAP_BODY = [
    "Shares of chip designers rallied on Tuesday after regulators unveiled a plan to support domestic suppliers "
    "of advanced semiconductors, according to people familiar with the matter.",
    "The plan includes tax credits and procurement preferences, and analysts expect the measures to lift demand "
    "for locally made accelerators over the next two years.",
    "Investors have been looking for signals of policy support after a volatile quarter for technology stocks.",
]
SIDEBAR_ONLY = "寒武紀"  # appears in the hot-stocks sidebar of the iFlytek page, never in its body

STORIES = {
    "iflytek": dict(path="/news/2025/06/11/iflytek-liu-qingfeng.html",
                    title="Liu Qingfeng: Aiming to be merely an 'AI application' firm betrays iFlytek's founding mission",
                    published="2025-06-11T09:30:00+08:00", lang="en", fragment="domestic computing power foundation"),
    "gbk": dict(path="/news/gbk-xinghuo.html", title="科大讯飞发布星火大模型 国产算力再获突破",
                published="2025-06-12T10:00:00+08:00", lang="zh", fragment="国产算力生态的成熟"),
    "big5": dict(path="/news/big5-liu.html", title="劉慶峰：全面基於國產算力訓練大模型",
                 published="2025-06-12T08:00:00+08:00", lang="zh", fragment="國產算力需求強勁"),
    "mislabelled": dict(path="/news/cambricon-q3.html", title="寒武纪第三季度营收大幅增长",
                        published="2025-06-13T15:45:00+08:00", lang="zh", fragment="云端智能芯片出货量"),
    "sitemap": dict(path="/news/chips-rally.html", title="Chip designers rally on support plan",
                    published="2025-06-14T02:00:00+00:00", lang="en", fragment="procurement preferences"),
    "gone": dict(path="/news/gone.html", title="Feed-only story whose page is gone",
                 published="2025-06-10T07:00:00+00:00", lang=None, fragment="Only the feed summary survives & it mentions"),
}


_LEAD_WORDS = ("harbour", "copper", "tariff", "reservoir", "satellite", "orchard", "freight", "ledger", "turbine",
               "vaccine", "estuary", "bond", "lithium", "railway", "drought", "auction", "patent", "glacier")


def distinct_lead(seed: str) -> str:
    """A first paragraph no other story shares (words drawn from `seed`): tests whose stories must stay separate
    events (and not one event thread, issue 13) open with it, as real different stories would."""
    rng = random.Random(seed)
    return " ".join(f"{rng.choice(_LEAD_WORDS)}{rng.randrange(10_000)}" for _ in range(40)) + "."


def article(title: str, body: list[str], published: str, site_name: str = "Deep News", charset: str = "utf-8",
            meta_charset: bool = True, canonical: str | None = None, lang: str = "zh-Hant") -> str:
    """An article page with the chrome real finance sites have: nav, a hot-stocks sidebar, related links, footer."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                     "datePublished": published}, ensure_ascii=False)
    paragraphs = "\n".join(f"<p>{p}</p>" for p in body)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head>
{f'<meta charset="{charset}">' if meta_charset else ''}
<title>{title} - {site_name}</title>
<meta property="og:site_name" content="{site_name}">
{f'<link rel="canonical" href="{canonical}">' if canonical else ''}
<script type="application/ld+json">{ld}</script>
</head><body>
<header><nav><a href="/">首頁</a> <a href="/markets/">市場</a> <a href="/news/">新聞</a> <a href="/login">登入</a></nav></header>
<main><article>
<h1>{html.escape(title, quote=False)}</h1>
<div class="byline">{site_name} · <time datetime="{published}">{published[:10]}</time></div>
{paragraphs}
</article></main>
<aside class="hot-stocks"><h3>熱議股票</h3><ol>
<li><a href="/quote/002230">科大訊飛 002230.SZ</a></li><li><a href="/quote/688256">{SIDEBAR_ONLY} 688256.SH</a></li>
<li><a href="/quote/NVDA">NVIDIA NVDA</a></li></ol></aside>
<section class="related"><h3>相關新聞</h3><ul><li><a href="/news/other.html">其他新聞標題一</a></li>
<li><a href="/news/other2.html">其他新聞標題二</a></li></ul></section>
<footer>免責聲明:投資有風險,本文並非投資建議。(c) 2025 {site_name}</footer>
</body></html>"""


def publish_site(site: Site) -> dict[str, str]:
    s = STORIES
    site.add(s["iflytek"]["path"], article(s["iflytek"]["title"], IFLYTEK_BODY, s["iflytek"]["published"]))
    gbk = article(s["gbk"]["title"], GBK_BODY, s["gbk"]["published"], "新浪财经", charset="gbk", lang="zh-CN")
    gbk = gbk.replace(f"{s['gbk']['title']} - 新浪财经", f"{s['gbk']['title']}_新浪财经")
    site.add(s["gbk"]["path"], gbk.encode("gbk"), "text/html")  # charset only in <meta>
    big5 = article(s["big5"]["title"], BIG5_BODY, s["big5"]["published"], "鉅亨網", meta_charset=False)
    site.add(s["big5"]["path"], big5.encode("big5"), "text/html; charset=big5")  # charset only in the header
    wrong = article(s["mislabelled"]["title"], MISLABELLED_BODY, s["mislabelled"]["published"], "证券时报",
                    meta_charset=False, lang="zh-CN")
    site.add(s["mislabelled"]["path"], wrong.encode("utf-8"), "text/html; charset=iso-8859-1")
    site.add(s["sitemap"]["path"], article(s["sitemap"]["title"], SITEMAP_BODY, s["sitemap"]["published"], "Wire", lang="en"))
    # The same iFlytek story republished elsewhere, with other chrome and title suffix.
    copy = article(s["iflytek"]["title"], IFLYTEK_BODY, s["iflytek"]["published"], "Finance Portal", lang="en")
    site.add("/syndicated/iflytek.html", copy)
    site.add("/private/secret.html", article("Secret", IFLYTEK_BODY, "2025-06-11T00:00:00Z"))

    items = [
        (s["iflytek"]["title"], s["iflytek"]["path"].lstrip("/"), "Tue, 11 Jun 2025 01:30:00 GMT", "iFlytek founder speech"),
        (s["gbk"]["title"], site.url(s["gbk"]["path"]), "Thu, 12 Jun 2025 02:00:00 GMT", "科大讯飞 星火"),
        (s["gone"]["title"], site.url(s["gone"]["path"]), "Tue, 10 Jun 2025 07:00:00 GMT",
         "<p>Only the feed summary survives &amp; it mentions iFlytek.</p>"),
    ]
    site.feed_items = items
    _publish_feed(site)
    iflytek = site.url(s["iflytek"]["path"])
    site.add("/markets/", f"""<html><head><meta charset="utf-8"><title>Markets</title></head><body>
<nav><a href="/">Home</a><a href="/about">About</a></nav>
<ul class="headlines">
<li><a class="headline" href="{iflytek}?utm_source=home&utm_medium=list">iFlytek</a></li>
<li><a class="headline" href="{iflytek}?utm_source=markets&utm_campaign=x#top">iFlytek again</a></li>
<li><a class="headline" href="{s['big5']['path']}">Big5</a></li>
<li><a class="headline" href="{s['mislabelled']['path']}?spm=a1.b2">Mislabelled</a></li>
<li><a class="headline" href="/private/secret.html">Private</a></li>
</ul></body></html>""")

    site.add("/news-sitemap.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{site.url('/sitemap-news.xml')}</loc></sitemap></sitemapindex>""", "application/xml")
    site.add("/sitemap-news.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{site.url(s['sitemap']['path'])}</loc><news:news><news:publication><news:name>Wire</news:name>
<news:language>en</news:language></news:publication><news:publication_date>{s['sitemap']['published']}</news:publication_date>
<news:title>{s['sitemap']['title']}</news:title></news:news></url></urlset>""", "application/xml")
    return {"feed": site.url("/rss.xml"), "listing": site.url("/markets/"), "sitemap": site.url("/news-sitemap.xml")}


def _publish_feed(site: Site) -> None:
    rss_items = "\n".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>{d}</pubDate><description><![CDATA[{desc}]]></description></item>"
        for t, link, d, desc in site.feed_items
    )
    site.add("/rss.xml", f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Deep News</title><link>{site.base}/</link><description>news</description>
{rss_items}
</channel></rss>""", "application/rss+xml")


def syndicate(site: Site) -> str:
    """Link the syndicated copy of the iFlytek story from the feed; returns its URL."""
    url = site.url("/syndicated/iflytek.html")
    site.feed_items.append(("Syndicated copy", url, "Wed, 11 Jun 2025 03:00:00 GMT", "copy"))
    _publish_feed(site)
    return url


def site_config(urls: dict[str, str], store: str, extra: str = "") -> str:
    return f"""store: {store}
max_age: 3650d
fetch:
  delay: 0s
  timeout: 10s
sources:
  - name: deep-feed
    type: feed
    allow_private: true
    url: {urls['feed']}
  - name: markets
    type: html
    allow_private: true
    url: {urls['listing']}
    links: "a.headline"
  - name: news-sitemap
    type: sitemap
    allow_private: true
    url: {urls['sitemap']}
{extra}"""
