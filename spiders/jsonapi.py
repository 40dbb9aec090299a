"""JSON sources (`type: json`): a JSON document mapped to stories with JMESPath; the machinery of the presets too.

The request is the source's `url` with `method` (GET, or POST with a urlencoded `form` or a JSON `body`) and its
`headers`. The response may be JSONP (`cb({...});`); `items` is a JMESPath expression for the list of items (a
string holding JSON is parsed: HKEX's `result`), and each of `fields` (`id title url published summary tickers
company category doc_url`) an expression evaluated on one item. The function `json_parse(@)` parses a field
that is itself a JSON string. `url` and `doc_url` may be templates instead: `/news/{id}.html` or
`https://host/{a.b}`, each `{expression}` evaluated on the item; relative URLs resolve against the source URL.
`published` is converted by `time_format`: `epoch_s`, `epoch_ms`, `iso`, a strptime format, or `auto` (numbers
are epoch seconds, or milliseconds when that large; strings ISO 8601); times without an offset are in the
source's `timezone`.

A page is all or nothing: a body that is not JSON (an HTML error page, a truncated document), an `items`
expression that finds no list, or an item whose title or key (id or url) is empty or whose time does not parse is
a source error naming the item, the field and the expression, and nothing of that page is stored. An item's id
is its dedupe key (`SOURCE:ID`, the presets use the exchange: `cninfo:ID`). `follow: true` fetches each item's
URL for main text, as a feed entry's; otherwise the title, summary and fields are the story.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jmespath
import scrapy
from jmespath import functions
from jmespath.exceptions import JMESPathError
from scrapy.http import Response

from crawler.items import ArticlePage, Fields, Hint, SpiderSource
from spiders.base import ListingError, SourceSpider

_JSONP = re.compile(r"^\s*(?:/\*\*/)?\s*[\w$.]+\s*\(\s*(.*?)\s*\)\s*;?\s*$", re.S)
_SPLIT = re.compile(r"\s*(?:,|;|<br\s*/?>)\s*", re.I)
_TEMPLATE_PART = re.compile(r"\{([^{}]+)\}")


class _Functions(functions.Functions):
    @functions.signature({"types": ["string", "null"]})
    def _func_json_parse(self, value: str | None) -> Any:
        return json.loads(value) if value else None


_OPTIONS = jmespath.Options(custom_functions=_Functions())


def is_template(value: str) -> bool:
    """Same test as crawler.config._is_template (spiders import nothing but items from crawler)."""
    return "{" in value and "}" in value and value.startswith(("/", "http://", "https://"))


class FieldMap:
    """Compiled `items` and `fields` of one source; `entries(doc)` maps a parsed document to raw field values."""

    def __init__(self, items: str, fields: Mapping[str, str]):
        self.items_expr = items
        self.items = jmespath.compile(items)
        self.fields: dict[str, Any] = {}
        for name, expr in fields.items():
            if is_template(expr):
                parts = {p: jmespath.compile(p) for p in _TEMPLATE_PART.findall(expr)}
                self.fields[name] = (expr, parts)
            else:
                self.fields[name] = (expr, jmespath.compile(expr))

    def item_list(self, doc: Any) -> list[Any]:
        found = self.items.search(doc, options=_OPTIONS)
        if isinstance(found, str):  # a field that is itself a JSON document
            try:
                found = json.loads(found)
            except ValueError as exc:
                raise ListingError(f"items '{self.items_expr}' is a string that is not JSON ({exc})") from None
        if found is None:
            keys = ", ".join(list(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
            raise ListingError(f"items '{self.items_expr}' found nothing (the document has: {keys}); "
                               "has the endpoint changed its shape?")
        if not isinstance(found, list):
            raise ListingError(f"items '{self.items_expr}' is a {type(found).__name__}, not a list")
        return found

    def value(self, name: str, item: Any) -> Any:
        if name not in self.fields:
            return None
        expr, compiled = self.fields[name]
        try:
            if isinstance(compiled, dict):
                out = expr
                for part, c in compiled.items():
                    got = c.search(item, options=_OPTIONS)
                    if got is None or got == "":
                        return None
                    out = out.replace("{" + part + "}", str(got))
                return out
            return compiled.search(item, options=_OPTIONS)
        except (JMESPathError, ValueError) as exc:
            raise ListingError(f"fields.{name} '{expr}': {exc}") from None


def load_json(response: Response) -> Any:
    """The response body as JSON (JSONP unwrapped); a ListingError saying what it is instead."""
    raw = response.body.decode(getattr(response, "encoding", None) or "utf-8", "replace").lstrip("\ufeff").strip()
    m = _JSONP.match(raw) if raw[:1] not in "{[" else None
    text = m.group(1) if m else raw
    try:
        return json.loads(text)
    except ValueError as exc:
        head = " ".join(raw[:60].split())
        what = "an HTML page" if head[:1] == "<" else "not valid JSON"
        raise ListingError(f"{what} (HTTP {response.status}, {exc}; starts {head!r})") from None


def to_time(value: Any, fmt: str, zone: str) -> str | None:
    """A time as written by the source -> ISO 8601 with its offset in `zone`; ValueError when it is not one."""
    if value is None or value == "":
        return None
    tz = ZoneInfo(zone)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(value, str) and re.fullmatch(r"\d{9,13}(\.\d+)?", value.strip()) and fmt in ("auto", "epoch_s",
                                                                                                  "epoch_ms"):
        value, numeric = float(value), True
    if fmt in ("epoch_s", "epoch_ms") or (fmt == "auto" and numeric):
        if not numeric:
            raise ValueError(f"{value!r} is not a number ({fmt})")
        seconds = float(value) / (1000 if fmt == "epoch_ms" or (fmt == "auto" and float(value) > 1e11) else 1)
        return datetime.fromtimestamp(seconds, timezone.utc).astimezone(tz).isoformat()
    text = str(value).strip()
    if fmt in ("iso", "auto"):
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    else:
        stamp = datetime.strptime(text, fmt)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=tz)
    return stamp.isoformat()


class JsonSpider(SourceSpider):
    name = "newsradar-json"
    market: str | None = None  # how bare ticker codes read (presets: CN, HK, US)
    disclosure = False  # presets: the title and fields are the story, the document is linked

    def __init__(self, source: SpiderSource | Mapping[str, Any], **kwargs: Any):
        super().__init__(source, **kwargs)
        spec = self.spec()
        self.mapping = FieldMap(spec["items"], spec["fields"])
        self.time_format = spec.get("time_format") or "auto"
        self.key_prefix = spec.get("key_prefix") or self.source.name

    def spec(self) -> dict[str, Any]:
        """items, fields, time_format and key_prefix: the source's own for type json, fixed for a preset."""
        s = self.source
        return {"items": s.items, "fields": s.fields, "time_format": s.time_format}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.first_requests():
            yield request

    def first_requests(self) -> Iterable[scrapy.Request]:
        s = self.source
        yield self.query(s.url, s.method, s.form, s.body, s.headers)

    def query(self, url: str, method: str = "GET", form: Mapping[str, Any] | None = None, body: Any = None,
              headers: Mapping[str, str] | None = None, page: int = 1, **meta: Any) -> scrapy.Request:
        request = self.listing_request(url)
        hdrs = {"Accept": "application/json, text/javascript, */*;q=0.1", **(headers or {})}
        data: bytes | None = None
        if form is not None:
            data = urlencode({k: "" if v is None else v for k, v in form.items()}, doseq=True).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            hdrs["Content-Type"] = "application/json;charset=UTF-8"
        return request.replace(method=method, body=data or b"", headers=hdrs,
                               meta={**request.meta, "newsradar_page": page, **meta})

    def parse_listing(self, response: Response) -> Iterable[Any]:
        doc = load_json(response)
        out = [self.entry(i, item, response) for i, item in enumerate(self.mapping.item_list(doc))]
        out = [e for e in out if e is not None]
        yield from out
        yield from self.next_requests(doc, response, out)

    def next_requests(self, doc: Any, response: Response, entries: list[Any]) -> Iterable[scrapy.Request]:
        """Further pages (presets); a json source is one document."""
        return ()

    def keep(self, item: Any, fields: Fields) -> bool:
        """Whether an item is wanted (presets filter by ticker where the endpoint cannot)."""
        return True

    def entry(self, index: int, item: Any, response: Response) -> ArticlePage | scrapy.Request | None:
        m = self.mapping

        def text(name: str) -> str | None:
            v = m.value(name, item)
            if isinstance(v, list):
                v = ", ".join(str(x) for x in v if x not in (None, ""))
            return str(v).strip() if v not in (None, "") else None

        def link(name: str) -> str | None:
            v = text(name)
            return response.urljoin(v) if v else None

        title, ident, url = text("title"), text("id"), link("url")
        where = f"item {index}"
        if not title:
            raise ListingError(f"{where}: fields.title '{m.fields['title'][0]}' is empty; has the endpoint "
                               "renamed a field?")
        if not ident and not url:
            names = " / ".join(f"fields.{n} '{m.fields[n][0]}'" for n in ("id", "url") if n in m.fields)
            raise ListingError(f"{where}: no key ({names} empty); has the endpoint renamed a field?")
        try:
            published = to_time(m.value("published", item), self.time_format, self.source.timezone)
        except (ValueError, OverflowError, TypeError) as exc:
            raise ListingError(f"{where}: fields.published '{m.fields['published'][0]}' is not a time "
                               f"({self.time_format}): {exc}") from None
        raw_tickers = m.value("tickers", item)
        if isinstance(raw_tickers, str):
            raw_tickers = _SPLIT.split(raw_tickers)
        tickers = tuple(str(t).strip() for t in (raw_tickers or ()) if t not in (None, "") and str(t).strip())
        fields = Fields(
            tickers=tickers, market=self.market, company=text("company"), category=text("category"),
            doc_url=link("doc_url"), key=f"{self.key_prefix}:{ident}" if ident else None, disclosure=self.disclosure,
        )
        if not self.keep(item, fields):
            return None
        hint = Hint(title=title, summary=text("summary"), published=published)
        if url and self.source.follow and not self.disclosure:
            return self.article_request(url, hint, fields)
        return ArticlePage(self.source.name, url or "", url or "", None, None, hint, None, fields)
