"""Extract one article page: main text, title, publication time, language, canonical URL.

Contract: ``extract_page(body, url=None, content_type=None) -> Page``. Pure and CPU-bound, with
picklable arguments and result, because it runs in a process pool. It never raises on bad input:
garbage, empty or truncated bytes give ``Page(text='', ...)``. A missing dependency does raise
(ImportError): a broken install must be loud, not a stream of empty pages.

Pipeline:

1. ``crawler.extract.decode.decode_html`` turns the bytes into text (BOM, strict UTF-8, declared charset
   widened, detection, replacement; see that module).
2. The text is parsed once, as UTF-8 bytes with the encoding fixed, into a full lxml document. We
   parse rather than hand trafilatura the string, because trafilatura throws away any tree with
   fewer than two children when the first 50 characters do not say "html"; libxml2 builds exactly
   such a tree (everything under <head>) for old portal pages that begin with a <script> and carry
   an unknown CMS tag in their head (sohu pages of zh-cwced came out empty that way).
3. Main text: layout tables are turned into plain blocks, then trafilatura runs in precision mode
   without comments; it drops navigation, sidebars, related-story lists, share bars and footers. Where
   precision lost the article (empty, or much shorter than balanced mode with prose in the difference),
   the balanced or recall result is taken: the rule and its measurements are in ``crawler.extract.maintext``.
   A text that is only boilerplate (a disclaimer, a menu) counts as none: ``Page.failure`` says why.
4. Metadata from the same tree: title without the site suffix, publication time from structured
   data first (``crawler.extract.dates.find_date``, which also says where it read it), canonical URL, and the
   language of the main text (``crawler.extract.language``).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from lxml.etree import ElementDefaultClassLookup, HTMLParser, ParserError, XPath
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction, document_fromstring
from trafilatura.settings import use_config

from crawler.cjk import CJK_RE, WORD_RE
from crawler.extract.dates import find_date
from crawler.extract.decode import decode_html
from crawler.extract.headline import choose as choose_headline
from crawler.extract.headline import headline_h1s, strip_decoration
from crawler.extract.language import page_lang
from crawler.extract.maintext import main_text

__all__ = ["Page", "extract_page"]

# trafilatura logs every page it discards at WARNING/ERROR; for a crawler those pages are routine.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Page:
    title: str | None  # without the site suffix
    published: datetime | None  # tz-aware where the page gave an offset
    lang: str | None  # ISO 639-1 of the main text
    text: str  # main text only ('' if none found)
    canonical_url: str | None  # absolute
    encoding: str  # codec used by decode_html
    date_source: str | None = None  # where `published` was read (crawler.extract.dates.find_date)
    failure: str | None = None  # why text is '' (nothing found, only a disclaimer or a menu, not HTML)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data


# ---------------------------------------------------------------------------------------------
# Parsing and main text

# lxml refuses control characters in the element text that trafilatura rewrites ("All strings must
# be XML compatible"), which would cost the whole page.
_INVALID_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Bytes that are not text at all (an image, a gzip body served without Content-Encoding, random
# junk): decoded any way, about one character in eight is a C0 control or U+FFFD. A real page,
# even a damaged one, has next to none; past this share we extract nothing rather than junk.
_NOT_TEXT_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")
_NOT_TEXT_SHARE = 0.02


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return len(_NOT_TEXT_RE.findall(sample)) > _NOT_TEXT_SHARE * len(sample)


# lxml.html's own parser picks each element's class in Python (a call per element proxy, about a million per
# hundred pages between trafilatura's passes: 8 % of extraction). This lookup gives the same HtmlElement
# class from C; only lxml.html's form-field classes (FormElement, InputElement...), which nothing here uses,
# are not made.
_HTML_CLASSES = ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)


def _parse(text: str):
    if _looks_binary(text):
        return None
    text = _INVALID_XML_CHARS.sub("", text)
    if not text.strip():
        return None
    # Bytes with a fixed encoding: lxml refuses str input that carries an XML encoding declaration,
    # and must not second-guess the charset that decode_html already settled.
    parser = HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False)
    parser.set_element_class_lookup(_HTML_CLASSES)
    try:
        return document_fromstring(text.encode("utf-8"), parser=parser)
    except (ParserError, ValueError, TypeError):
        return None


# Precision mode: body F1 0.965 against 0.960 for the balanced default on article-extraction-benchmark,
# 0.931 against 0.923 on zh-cwced. Tables stay in: finance articles carry their figures in them.
_TRAFILATURA_OPTIONS = dict(favor_precision=True, include_comments=False, include_tables=True, with_metadata=False)


_TABLE_PARTS = ("thead", "tbody", "tfoot", "tr", "td", "th", "caption")
# A data table cell holds a figure or a name; a cell with a paragraph's worth of text is page layout.
# (zh-cwced F1 0.916 at 300 chars, 0.919 at 100-200, 0.917 at 500: the exact value hardly matters.)
_LAYOUT_CELL_CHARS = 300


def _is_layout_table(table) -> bool:
    """A table used for page layout rather than for data: it holds other tables, or long prose cells."""
    if (table.get("role") or "").lower() == "presentation" or table.find(".//table") is not None:
        return True
    return any(len(cell.text_content().strip()) > _LAYOUT_CELL_CHARS for cell in table.iter("td", "th"))


def _unwrap_layout_tables(tree) -> None:
    # trafilatura keeps or drops a <table> as a whole, so on old portals laid out as one big table all
    # the chrome came along (zh-cwced F1 0.891 -> 0.916 with this). As plain blocks, its boilerplate
    # scoring applies to each part. Innermost first, so an outer table sees its inner ones resolved.
    for table in reversed(tree.xpath("//table")):
        if _is_layout_table(table):
            table.tag = "div"
            for part in table.iter(*_TABLE_PARTS):
                part.tag = "div"


# trafilatura falls back to sweeping up any text on the page (nav tables included) when the article
# it found is under MIN_EXTRACTED_SIZE characters, 250 by default. That is tuned for alphabetic text:
# a CJK character carries about a word, so a 200-character Chinese flash report is a whole article.
_CJK_MIN_EXTRACTED_SIZE = "100"
_VISIBLE_TEXT = XPath("//body//text()[not(ancestor::script) and not(ancestor::style)]", smart_strings=False)


@functools.lru_cache(maxsize=1)
def _cjk_config():
    config = use_config()  # a fresh copy: DEFAULT_CONFIG is shared by every caller in the process
    config["DEFAULT"]["MIN_EXTRACTED_SIZE"] = _CJK_MIN_EXTRACTED_SIZE
    return config


def _is_cjk_page(tree) -> bool:
    sample = " ".join(_VISIBLE_TEXT(tree))[:20_000]
    letters = sum(map(str.isalpha, sample))
    return letters > 0 and len(CJK_RE.findall(sample)) > 0.3 * letters


def _main_text(tree, url: str | None) -> tuple[str, str | None]:
    """(text, failure): precise extraction with recall where it lost the article (``crawler.extract.maintext``)."""
    _unwrap_layout_tables(tree)
    options = dict(_TRAFILATURA_OPTIONS, config=_cjk_config()) if _is_cjk_page(tree) else _TRAFILATURA_OPTIONS
    return main_text(tree, url, options, _tidy_line)


_TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _tidy_line(line: str) -> str:
    """trafilatura writes table rows as Markdown ("| a | b \\| c |"); keep the cells, drop the syntax."""
    if not (line.startswith("|") and line.endswith("|")):
        return line
    if _TABLE_RULE.match(line):
        return ""
    cells = (cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(line[1:-1]))
    return " | ".join(cell for cell in cells if cell)


# ---------------------------------------------------------------------------------------------
# Title

# Spaced separators work in any script; the unspaced ones are how CJK portals write suffixes.
_SPACED_SEPS = (" | ", " :: ", " - ", " – ", " — ", " ｜ ")
_BAR_SEPS = (" | ", " :: ", " ｜ ", "｜")
_DASH_SEPS = (" - ", " – ", " — ")
_CJK_SEPS = ("_", "--", "-", "|", "｜", "—")
_SEP_CHARS = "|-–—_:｜·»"


def _norm(value: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def _words(value: str) -> int:
    """Word count, each CJK character counting as one (a headline of three characters is a headline)."""
    return len(WORD_RE.findall(value))


def _looks_like_site(segment: str) -> bool:
    """A trailing segment that names a site: short, no sentence punctuation, Title Case or a domain."""
    segment = segment.strip()
    if not segment or len(segment) > 40 or re.search(r"[,;?!\"“”]", segment):
        return False
    if CJK_RE.search(segment):
        return len(segment) <= 12
    words = segment.split()
    if len(words) > 5:
        return False
    if re.fullmatch(r"[\w.-]+\.[a-z]{2,}", segment, re.IGNORECASE):
        return True
    small = {"of", "the", "and", "for", "on", "in", "at", "de", "&", "-"}
    return all(w[0].isupper() or w[0].isdigit() or w.lower() in small for w in words)


def _strip_site_name(title: str, names: list[str]) -> str:
    low = title.lower()
    for name in names:
        lname = name.lower()
        if not lname or lname == low:
            continue
        for sep in _SPACED_SEPS + _CJK_SEPS:
            if low.endswith(sep.lower() + lname) and len(title) > len(sep + name):
                return title[: -len(sep + name)].strip()
            if low.startswith(lname + sep.lower()) and len(title) > len(sep + name):
                return title[len(name + sep) :].strip()
    return title


def _strip_once(title: str) -> str:
    if CJK_RE.search(title):
        # Chinese portals chain "title_channel_site": keep the first segment when the rest is short.
        parts = [p.strip() for p in title.split("_")]
        if len(parts) > 1 and len(parts[0]) >= 4 and all(len(p) <= 16 for p in parts[1:]):
            return parts[0]
        for sep in _CJK_SEPS[1:]:
            head, found, tail = title.rpartition(sep)
            if found and _words(head) >= 4 and CJK_RE.search(tail) and _looks_like_site(tail):
                return head.strip()
    for sep in _BAR_SEPS:  # "Headline | Section | Site"
        head, found, tail = title.rpartition(sep)
        if found and _words(head) >= 2 and _words(tail) <= 5 and len(tail) <= 40:
            return head.strip()
    for sep in _DASH_SEPS:
        head, found, tail = title.rpartition(sep)
        # A dash inside a headline ("Fed holds - and signals cuts") must survive: only a Title Case
        # or domain-like tail after a headline of several words counts as a site name.
        if found and _words(head) >= 3 and _looks_like_site(tail):
            return head.strip()
    return title


def _strip_generic(title: str) -> str:
    for _ in range(2):  # "Headline - Channel - Site"
        shorter = _strip_once(title)
        if shorter == title or not shorter:
            break
        title = shorter
    return title


def _clean_title(raw: str, og_title: str, h1s: list[str], site_names: list[str]) -> str | None:
    sites = {name.lower() for name in site_names}
    # Many templates put the site's logo in an <h1>; it is never the headline.
    h1s = [h for h in h1s if h.lower() not in sites]
    title = _norm(raw)
    if not title or title.lower() in sites:
        if og_title and og_title.lower() not in sites:
            title = og_title
        elif not title or _looks_like_site(title):
            title = h1s[0] if h1s else title
        # else: a site that names itself after the headline (application-name = <title>) keeps its headline
    if not title:
        return None
    for h1 in h1s:
        # "Blog Name: Headline" with <h1>Blog Name</h1>: the <h1> is the decoration, the rest is the headline.
        rest = strip_decoration(h1, title)
        if rest:
            return rest
    for h1 in h1s:
        if h1 == title:
            return title
        # The page's own headline inside "<h1> | Section | Site" or "Section | <h1> - Site" tells where
        # the decoration starts. A leading part must be shorter than the <h1>, so that a logo <h1>
        # repeating the site name at the end of "Headline - Site" never wins.
        at = title.find(h1) if len(h1) >= 4 else -1
        if at < 0:
            continue
        before, after = title[:at].rstrip(), title[at + len(h1) :].lstrip()
        if (not before or (before[-1] in _SEP_CHARS and len(before) < len(h1))) and (
            not after or after[0] in _SEP_CHARS
        ):
            return h1
    stripped = _strip_site_name(title, site_names)
    if stripped != title:
        return stripped
    return _strip_generic(title) or title


def _meta(tree, *keys: str) -> list[str]:
    out = []
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in keys and _norm(meta.get("content")):
            out.append(_norm(meta.get("content")))
    return out


def _title(tree) -> str | None:
    titles = [t for t in tree.xpath("//title[not(ancestor::svg)]") if _norm(t.text_content())]
    raw = _norm(titles[0].text_content()) if titles else ""
    og_title = next(iter(_meta(tree, "og:title", "twitter:title")), "")
    h1s = headline_h1s(tree)
    sites = _meta(tree, "og:site_name", "application-name")
    cleaned = _clean_title(raw, og_title, h1s, sites)
    lowered = {name.lower() for name in sites}
    return choose_headline(cleaned, [h for h in h1s if h.lower() not in lowered], [raw, og_title])


# ---------------------------------------------------------------------------------------------
# Canonical URL


def _canonical(tree, url: str | None) -> str | None:
    hrefs = [link.get("href") for link in tree.iter("link") if "canonical" in (link.get("rel") or "").lower().split()]
    hrefs += _meta(tree, "og:url")
    for href in hrefs:
        href = (href or "").strip()
        if not href:
            continue
        absolute = urljoin(url or "", href)
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.netloc:
            return absolute
    return None


# ---------------------------------------------------------------------------------------------


def extract_page(body: bytes, url: str | None = None, content_type: str | None = None) -> Page:
    """Extract one page; see the module docstring. Never raises on bad input."""
    encoding, tree, fields = "utf-8", None, {}
    try:
        decoded, encoding = decode_html(body or b"", content_type)
        tree = _parse(decoded)
    except Exception:  # bytes we cannot even decode or parse: an empty Page, not an error
        tree = None
    if tree is not None:
        # _main_text rewrites layout tables as <div>s; nothing computed after it looks at tables.
        for name, compute in (
            ("main", lambda: _main_text(tree, url)),
            ("title", lambda: _title(tree)),
            ("canonical_url", lambda: _canonical(tree, url)),
            ("dated", lambda: find_date(tree, url)),
        ):
            try:
                fields[name] = compute()
            except ImportError:  # a missing dependency is a broken install, not a bad page: be loud
                raise
            except Exception:  # one broken field must not cost the others
                fields[name] = None
    text, failure = fields.get("main") or ("", "the main text could not be extracted")
    if tree is None:
        failure = "no text: the body is empty, binary or not HTML"
    try:
        lang = page_lang(text, tree)
    except ImportError:
        raise
    except Exception:
        lang = None
    return Page(
        title=fields.get("title"),
        published=fields["dated"].when if fields.get("dated") else None,
        lang=lang,
        text=text,
        canonical_url=fields.get("canonical_url"),
        encoding=encoding,
        date_source=fields["dated"].source if fields.get("dated") else None,
        failure=failure,
    )
