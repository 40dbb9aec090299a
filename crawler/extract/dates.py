"""A page's publication time: where in the markup it is read, and which reading wins.

Contract: ``find_date(tree, url=None) -> Dated | None`` (used by crawler.extract.article; ``find_published`` is
its bare time); it never raises on bad markup (a missing htmldate does raise: a broken install must be loud,
not dateless). Parsing a written timestamp is crawler.extract.timestamps (``parse_datetime``, ``Dated``);
choosing a story's date from this one and the listing's is crawler.extract.settle (``settle``). Those names
are re-exported here, where their importers found them before the split.

find_date looks, in this order, and takes the first value that parses:

1. JSON-LD ``datePublished`` (also inside ``@graph``, lists and nested objects; article types first),
   then JSON-LD ``dateCreated``;
2. ``<meta>`` publication tags (``article:published_time`` first, then the common vendor names);
3. ``itemprop="datePublished"`` on any element;
4. ``<time datetime>`` marked as the publication time, or the first one inside ``<article>``/``<header>``,
   outside regions that hold other posts (``aside``, ``nav``, ``footer``, list items, sidebar/related/recent
   widgets by class or id);
5. the first date written with a time of day in the page's visible text ('2005-04-05 06:40',
   '2024年06月11日 10:30'): the byline of pages without structured data, CJK portals above all
   (on the zh-cwced corpus this took date accuracy from 0.69 to 0.86); naive;
6. htmldate's guess from the page (date-only: midnight, naive), the URL path as its last resort; a guess of
   January 1st is refused (htmldate's reading of a lone year or a copyright line).

Steps 1-4 are structured (``jsonld``, ``meta``, ``time``), 5-6 guesses (``text``, ``url``). A guess that falls on
the day of another post's date (a ``<time>`` or date-classed element in those regions, in an entry that does not
link to the page itself) is made again without those elements, and refused if it still falls on one of them.

Structured data keeps the offset the page wrote; the URL is never preferred over it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from copy import deepcopy
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.extract.settle import FUTURE_SLACK, Settled, format_duration, settle
from crawler.extract.timestamps import (
    FIRST_SEEN,
    GUESSED,
    LISTED,
    PM_WORDS,
    STRUCTURED,
    Dated,
    build_datetime,
    parse_datetime,
)

__all__ = [
    "FIRST_SEEN", "FUTURE_SLACK", "GUESSED", "LISTED", "STRUCTURED", "Dated", "Settled",
    "find_date", "find_published", "format_duration", "parse_datetime", "settle",
]


_META_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "og:published_time",
    "published_time",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "date",
    "originalpublicationdate",
    "publication_date",
    "published_date",
    "publish_time",
    "ptime",  # NetEase (163.com) and other Chinese portals
    "og:pubdate",
    "og:publish_date",
    "citation_publication_date",
    "cxenseparse:recs:publishtime",
    "bytedance:published_time",
    "weibo:article:create_at",
)
_META_RANK = {key: rank for rank, key in enumerate(_META_KEYS)}
_ARTICLE_TYPES = {"blogposting", "liveblogposting", "report", "reportagenews", "socialmediaposting"}
_TIME_XPATH = (
    "//time[@pubdate and @datetime]",
    "//*[self::article or self::header]//time[@datetime]",
)


def _jsonld_objects(tree) -> Iterator[dict]:
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        raw = (script.text or "").strip()
        # CMSs wrap the payload in HTML comments or CDATA markers meant for ancient browsers.
        raw = re.sub(r"^\s*(?://)?\s*(?:<!--|<!\[CDATA\[)|(?://)?\s*(?:-->|\]\]>)\s*$", "", raw)
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            try:  # trailing commas are the commonest hand-written JSON-LD error
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except ValueError:
                continue
        yield from _walk(data, 0)


def _walk(node: Any, depth: int) -> Iterator[dict]:
    if depth > 8:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _walk(value, depth + 1)


def _is_article(obj: dict) -> bool:
    types = obj.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and (t.lower().endswith("article") or t.lower() in _ARTICLE_TYPES) for t in types)


def _from_jsonld(tree) -> Dated | None:
    candidates: list[tuple[int, int, str]] = []
    for index, obj in enumerate(_jsonld_objects(tree)):
        for rank, key in ((0, "datePublished"), (2, "dateCreated")):
            value = obj.get(key)
            if isinstance(value, list) and value:
                value = value[0]
            if isinstance(value, str):
                candidates.append((rank + (0 if _is_article(obj) else 1), index, value))
    for _, _, value in sorted(candidates):
        dt = parse_datetime(value)
        if dt is not None:
            return Dated(dt, "jsonld")
    return None


def _from_meta(tree) -> Dated | None:
    found: list[tuple[int, str]] = []
    for meta in tree.iter("meta"):
        content = meta.get("content")
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = (meta.get(attr) or "").strip().lower()
            if key in _META_RANK:
                found.append((_META_RANK[key], content))
                break
    for _, value in sorted(found, key=lambda item: item[0]):
        dt = parse_datetime(value)
        if dt is not None:
            return Dated(dt, "meta")
    return None


# Regions that hold other posts or site chrome: a date there is another story's (or the footer's copyright).
_OTHER_TAGS = {"aside", "nav", "footer", "li"}
_OTHER_NAMES = re.compile(
    r"side-?bar|\baside|related|recent|popular|trending|most-?read|widget|recommend|more-?(?:stories|news|posts)"
    r"|other-?posts|read-?next|up-?next|breadcrumb|comment",
    re.IGNORECASE,
)


def _in_other_post(el) -> bool:
    """Inside a region that holds other posts. Within the element's own ``<article>`` only a region named
    so (related, recommended, sidebar ...) counts: an ``<aside>`` or list of the article is its byline."""
    chain = []
    for node in el.iterancestors():
        if not isinstance(node.tag, str) or node.tag in ("body", "html"):
            break
        chain.append(node)
    article = next((i for i, node in enumerate(chain) if node.tag == "article"), len(chain))
    return any(_is_other_region(node) or (i > article and node.tag in _OTHER_TAGS)
               or (i < article == len(chain) and node.tag in _OTHER_TAGS) for i, node in enumerate(chain))


# "c-layout-sidebar-left", "has-sidebar", "content-with-sidebar": page layout around the article, not a sidebar.
_LAYOUT_NAMES = re.compile(r"layout|container|wrap|main|content|has-|with-|no-|page", re.IGNORECASE)


def _is_other_region(node) -> bool:
    if node.tag in ("article", "main", "body", "html"):
        return False
    names = f"{node.get('class') or ''} {node.get('id') or ''}".split()
    return any(_OTHER_NAMES.search(name) and not _LAYOUT_NAMES.search(name) for name in names)


def _other_post_dates(tree, url: str | None) -> tuple[list, set]:
    """The elements that date other posts (``<time>`` and date-classed elements inside asides, navigation,
    footers, list items and sidebar/related widgets, in an entry that does not link to this page itself: a
    "recent posts" box lists the page too) and the days they give."""
    found = [el for el in tree.iter() if isinstance(el.tag, str)
             and (el.tag == "time" or _DATE_CLASS.search(el.get("class") or "")) and _in_other_post(el)
             and not _links_to(el, url)]
    days = set()
    for el in found:
        dt = parse_datetime(el.get("datetime") or el.get("content")) or parse_datetime(el.text_content()[:100])
        if dt is not None:
            days.add(dt.date())
    return found, days


def _same_page(href: str, url: str) -> bool:

    a, b = urlsplit(urljoin(url, href)), urlsplit(url)
    return (a.netloc.lower(), a.path.rstrip("/")) == (b.netloc.lower(), b.path.rstrip("/"))


def _links_to(el, url: str | None) -> bool:
    """The entry around `el` (the nearest of its parent and grandparent that holds a link) links to `url`."""
    if not url:
        return False
    for entry in list(el.iterancestors())[:2]:
        links = [a.get("href") or "" for a in entry.iter("a")]
        if links:
            return any(_same_page(href, url) for href in links)
    return False


def _without(tree, doomed: list):
    pruned = deepcopy(tree)
    paths = {tree.getroottree().getpath(el) for el in doomed}
    for el in [pruned.getroottree().xpath(p)[0] for p in paths if pruned.getroottree().xpath(p)]:
        if el.getparent() is not None:
            el.drop_tree()
    return pruned


_DATE_CLASS = re.compile(r"date|time|publish|posted", re.IGNORECASE)


def _from_markup(tree) -> Dated | None:
    for el in tree.xpath('//*[@itemprop="datePublished"]'):
        if _in_other_post(el):
            continue
        dt = parse_datetime(el.get("content") or el.get("datetime") or el.text_content())
        if dt is not None:
            return Dated(dt, "meta" if el.tag == "meta" else "time")
    for xpath in _TIME_XPATH:
        for el in [el for el in tree.xpath(xpath) if not _in_other_post(el)][:3]:
            dt = parse_datetime(el.get("datetime"))
            if dt is not None:
                return Dated(dt, "time")
    return None


_TEXT_DATETIME_RE = re.compile(
    r"""(?P<y>(?:19|20)\d{2})\s*[-/年.]\s*(?P<mo>\d{1,2})\s*[-/月.]\s*(?P<d>\d{1,2})\s*日?[\s,]*
        (?P<pre>上午|下午|晚上|中午|早上|凌晨)?\s*(?P<h>\d{1,2})\s*[:：]\s*(?P<mi>\d{2})(?:\s*[:：]\s*(?P<s>\d{2}))?
        (?:\s*(?P<post>[AaPp]\.?[Mm])\b)?""",
    re.VERBOSE,
)
_VISIBLE_TEXT = "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"


def _from_text(tree) -> Dated | None:
    text = " ".join(" ".join(tree.xpath(_VISIBLE_TEXT)).split())[:200_000]
    latest = datetime.now() + timedelta(days=1)
    for m in _TEXT_DATETIME_RE.finditer(text):
        hour = int(m["h"])
        if (m["pre"] in PM_WORDS or (m["post"] or "").lower().startswith("p")) and hour < 12:
            hour += 12
        try:
            dt = build_datetime(m["y"], m["mo"], m["d"], hour, m["mi"], m["s"])
        except ValueError:  # 2005-13-45 25:99 and the like
            continue
        if dt is not None and dt <= latest:
            return Dated(dt, "text")
    return None


def _from_htmldate(tree, url: str | None) -> Dated | None:
    # lazy: htmldate costs ~75 ms of CPU on import, which run's main process (it imports this module through the
    # outbox) and feed parsing never need; only the extraction workers call this
    from htmldate import find_date as htmldate_find
    from htmldate.extractors import extract_url_date
    from htmldate.utils import Extractor

    try:
        # deferred_url_extractor: htmldate's own list of publication <meta> names (longer than ours,
        # date-only) and its text patterns go before the URL path, which it otherwise reads first.
        found = parse_datetime(htmldate_find(tree, extensive_search=True, original_date=True, url=url,
                                             deferred_url_extractor=True))
        if found is None or (found.month, found.day) == (1, 1):  # January 1st: a lone year, not a date
            return None
        options = Extractor(False, datetime.now() + timedelta(days=1), datetime(1995, 1, 1), True, "%Y-%m-%d")
        in_url = parse_datetime(extract_url_date(url, options)) if url else None
        return Dated(found, "url" if in_url == found else "text")
    except Exception:  # htmldate is heuristic code over arbitrary markup
        return None


def find_date(tree, url: str | None = None) -> Dated | None:
    """Publication time of a parsed page and where it was read; see the module docstring for the order."""
    if tree is None:
        return None
    for finder in (_from_jsonld, _from_meta, _from_markup, _from_text):
        try:
            dated = finder(tree)
        except Exception:  # malformed markup must cost the date, not the page
            dated = None
        if dated is not None:
            break
    else:
        dated = _from_htmldate(tree, url)
    if dated is None or dated.source not in GUESSED:
        return dated
    # A guess that is the date of another post (a sidebar's <time>) is read again without those dates.
    try:
        others, days = _other_post_dates(tree, url)
        if dated.when.date() not in days:
            return dated
        pruned = _without(tree, others)
        dated = _from_text(pruned) or _from_htmldate(pruned, url)
    except Exception:
        return None
    return dated if dated is not None and dated.when.date() not in days else None


def find_published(tree, url: str | None = None) -> datetime | None:
    """The bare time of ``find_date``."""
    dated = find_date(tree, url)
    return dated.when if dated else None
