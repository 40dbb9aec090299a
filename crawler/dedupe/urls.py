"""Canonical URLs: the key under which a story is stored once.

`canonical_url(url)` lower-cases scheme and host, drops default ports, the fragment and tracking parameters
(`utm_*`, `fbclid`, `gclid`, `spm`, ... see TRACKING), sorts the remaining query arguments and percent-encodes
consistently (w3lib's `canonicalize_url`). Two URLs that differ only in those respects are one story. A page's
`<link rel="canonical">` is honoured by the store pipeline, which records every URL a story was seen under.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Exact names, and prefixes (ending in "_") of parameters that only track the reader.
TRACKING = frozenset(
    """fbclid gclid dclid gbraid wbraid msclkid yclid twclid igshid mc_cid mc_eid spm scm from_source
    share_token ref_src ref_url cmpid cmp_id ncid sr_share icid ito s_cid _hsenc _hsmi mkt_tok""".split()
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci")


def is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)]
    netloc = parts.netloc.lower()
    scheme = parts.scheme.lower()
    if (scheme, netloc.rsplit(":", 1)[-1]) in {("http", "80"), ("https", "443")}:
        netloc = netloc.rsplit(":", 1)[0]
    cleaned = urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))
    return canonicalize_url(cleaned, keep_fragments=False)
