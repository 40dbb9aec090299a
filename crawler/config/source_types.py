"""What each source type needs beyond the schema: the disclosure presets' hosts and zones, the JSON field names,
ticker lists, and `check_source` (required keys, keys that do not apply, JMESPath expressions compiled).
`crawler.config.model` declares the keys; this module knows the types."""

from __future__ import annotations

import re
from typing import Annotated, Any

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BeforeValidator

from crawler.tickers import normalize

# The disclosure presets (spiders/presets.py, spiders/edgar.py): the real host of each, and its endpoint path.
PRESETS = {
    "cninfo": ("http://www.cninfo.com.cn", "/new/hisAnnouncement/query"),
    "szse": ("http://www.szse.cn", "/api/disc/announcement/annList"),
    "sse": ("http://query.sse.com.cn", "/security/stock/queryCompanyBulletin.do"),
    "hkex": ("https://www1.hkexnews.hk", "/search/titleSearchServlet.do"),
    "edgar": ("https://www.sec.gov", "/cgi-bin/browse-edgar"),
}
# The zone a preset's exchange writes its times in (a source's own `timezone` wins).
PRESET_ZONES = {"cninfo": "Asia/Shanghai", "szse": "Asia/Shanghai", "sse": "Asia/Shanghai",
                "hkex": "Asia/Hong_Kong", "edgar": "America/New_York"}
JSON_FIELDS = ("id", "title", "url", "published", "summary", "tickers", "company", "category", "doc_url")


def _tickers(value: Any) -> Any:
    """Ticker lists: YAML reads 600519 as a number (fine) and 002230 as the octal number 1176 (not fine)."""
    items = [value] if isinstance(value, (str, int)) else value
    if not isinstance(items, (list, tuple)):
        return value
    out = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            if len(str(item)) != 6:
                raise ValueError(f"ticker {item} is a number to YAML (002230 reads as the octal 1176): quote it, "
                                 "or write it with its exchange (002230.SZ)")
            item = str(item)
        out.append(item)
    return tuple(out)


Tickers = Annotated[tuple[str, ...], BeforeValidator(_tickers)]


def check_source(src: Any) -> list[tuple[tuple, str]]:
    """Keys a source type needs, and its JMESPath expressions compiled: [(loc inside the source, message)]."""
    out: list[tuple[tuple, str]] = []
    if src.type == "json":
        if not src.items:
            out.append(((), "type json needs 'items' (a JMESPath expression for the list of items)"))
        if "title" not in src.fields:
            out.append((("fields",), "type json needs fields.title"))
        if "id" not in src.fields and "url" not in src.fields:
            out.append((("fields",), "type json needs fields.id or fields.url (the dedupe key)"))
        exprs = [(("items",), src.items)] if src.items else []
        for name, expr in src.fields.items():
            if _is_template(expr):
                exprs += [(("fields", name), part) for part in re.findall(r"\{([^{}]+)\}", expr)]
            else:
                exprs.append((("fields", name), expr))
        for loc, expr in exprs:
            try:
                jmespath.compile(expr)
            except JMESPathError as exc:
                out.append((loc, f"invalid JMESPath expression '{expr}': {str(exc).splitlines()[0]}"))
    if src.form is not None and src.body is not None:
        out.append((("body",), "give either 'form' or 'body', not both"))
    if (src.form is not None or src.body is not None) and src.method != "POST" and src.type == "json":
        out.append((("method",), "'form' and 'body' need method: POST"))
    json_only = {"items": src.items, "fields": src.fields, "form": src.form, "body": src.body,
                 "method": src.method != "GET", "time_format": src.time_format != "auto"}
    if src.type != "json":
        out.extend(((key,), f"'{key}' applies to type json only") for key, given in json_only.items()
                   if given not in (None, False, {}))
    preset_only = {"base_url": src.base_url, "tickers": src.tickers, "categories": src.categories,
                   "contact": src.contact}
    if src.type not in PRESETS and src.type != "json":
        out.extend(((key,), f"'{key}' applies to the presets ({', '.join(PRESETS)}) only")
                   for key, given in preset_only.items() if given)
    if src.type == "json" and (src.base_url or src.contact):
        out.append((("base_url" if src.base_url else "contact",), "'base_url' and 'contact' apply to the presets"))
    if src.type == "edgar" and not (src.contact and "@" in src.contact):
        out.append(((), "type edgar needs 'contact' (an e-mail address: the SEC refuses requests without one)"))
    if src.type == "json" and (src.tickers or src.categories):
        out.append((("tickers" if src.tickers else "categories",), "'tickers' and 'categories' select within a "
                    "preset (cninfo, szse, sse, hkex, edgar); a json source maps them with fields.tickers"))
    if src.type in ("cninfo", "szse", "sse", "hkex"):
        market = "HK" if src.type == "hkex" else "CN"
        for j, ticker in enumerate(src.tickers):
            if normalize(ticker, market) is None:
                out.append((("tickers", j), f"'{ticker}' is not a ticker of {src.type}"))
    return out


def _is_template(value: str) -> bool:
    """A field written as a URL template ('/news/{id}.html', 'https://x/{a.b}') rather than one expression."""
    return "{" in value and "}" in value and (value.startswith(("/", "http://", "https://")))
