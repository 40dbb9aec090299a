"""Turn the raw bytes of a fetched page into text.

Contract: ``decode_html(body, content_type=None) -> (text, codec_name)``; it never raises.
``codec_name`` is Python's canonical codec name (``codecs.lookup(...).name``), e.g. ``'utf-8'``,
``'gb18030'``, ``'big5hkscs'``, ``'cp1252'``.

Decoding order (the first step that succeeds wins):

1. A byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE).
2. Strict UTF-8.
3. The declared charsets, in this order: the HTTP ``Content-Type`` header, then ``<meta charset>`` /
   ``<meta http-equiv="Content-Type">`` in the first 4 KB, then an XML declaration at the very start.
   Each label is WIDENED to the superset that browsers actually use (gb2312/gbk/x-gbk -> gb18030,
   big5 -> big5hkscs, iso-8859-1/latin-1/ascii -> cp1252, ...; w3lib's ``resolve_encoding`` table)
   and decoded strictly; one that fails falls through to the next.
4. A DAMAGED page: the declared charsets, then UTF-8, with U+FFFD replacement, when at most 0.5% of
   the non-ASCII bytes fail. Old CJK portals cut titles mid-character and a proxy may flip a byte; one
   stray byte must not hand a well-labelled page to the detector, which rejects every codec that
   fails anywhere and then answers with a Cyrillic code page (so it did on 10 of the 46 GBK pages of
   zh-cwced with one byte inserted). A mislabelled page fails on nearly every non-ASCII byte, so it
   still falls through.
   For UTF-8 the damage is also measured against the PAGE: at most one broken sequence per 1,000 bytes
   of the page (``_UTF8_DAMAGE_PER_BYTE``; at least one), provided the page has at least as many valid
   multi-byte UTF-8 characters as broken sequences. A mostly-English UTF-8 page with a few curly quotes
   and a handful of stray Latin-1 bytes (a CMS pasting cp1252 text) then decodes as UTF-8 with U+FFFD for
   those bytes, instead of going to the detector, which answers cp1252 and turns every curly quote and
   accent of the page into mojibake ("â€™"). A real Latin-1 page has no valid multi-byte sequences, and a
   GBK page breaks UTF-8 on nearly every non-ASCII byte: both still fall through.
5. charset-normalizer's detection, decoded strictly (or, for a damaged page, with replacement).
   The detector rejects every codec that fails anywhere, so the few bytes that no double-byte CJK
   encoding accepts (a lead byte before ASCII punctuation: a character cut in half) are left out of
   what it sees, when they are at most 0.5% of the non-ASCII bytes.
6. The first declared charset with U+FFFD replacement, when there was one.
7. UTF-8 with U+FFFD replacement.

"Strictly" tolerates one thing: a multi-byte sequence cut off at the very end of the body, which is
what a truncated download looks like; it is dropped rather than failing the whole page.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes
from w3lib.encoding import read_bom, resolve_encoding

__all__ = ["declared_charsets", "decode_feed", "decode_html", "widen"]

_HEAD_BYTES = 4096
# Step 4: the share of non-ASCII bytes that may fail before a page counts as mislabelled, not damaged.
_DAMAGE_RATIO = 0.005
# Step 4, UTF-8: broken sequences per byte of the page that still count as a damaged UTF-8 page.
_UTF8_DAMAGE_PER_BYTE = 0.001
_ASCII = bytes(range(128))
_ESCAPED_RE = re.compile("[\udc80-\udcff]")

# Labels seen on the web that neither Python's codec registry nor w3lib's table knows (x-gbk and
# csgb2312 are WHATWG labels of GBK); each maps to a label resolve_encoding() then widens.
_LABEL_ALIASES = {
    "x-gbk": "gbk",
    "x-gb2312": "gb2312",
    "csgb2312": "gb2312",
    "x-big5": "big5",
    "x-euc-jp": "euc_jp",
    "x-user-defined": "cp1252",
    "x-mac-roman": "mac_roman",
}

# Text codecs a page could name that would turn markup into something else (UTF-7 is a known
# script-injection vector; the escape codecs reinterpret backslashes).
_REFUSED = {"utf-7", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}

# The charset is found by our own scan, not w3lib's http_content_type_encoding() /
# html_body_declared_encoding(): those resolve the label themselves (so x-gbk, csgb2312 are lost before
# _LABEL_ALIASES sees them), the <meta> scan stops at the first "<body" (3 corpus pages declare their
# charset after it, as HubSpot templates do; browsers still honour it), and they return one declaration
# where we keep header, <meta> and XML declaration as fallbacks for one another.
_COMMENT_RE = re.compile(rb"<!--.*?(?:-->|$)", re.DOTALL)
_META_RE = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_META_CHARSET_RE = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"""\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def widen(label: str | None) -> str | None:
    """Canonical Python codec name for an encoding label, widened to its superset; None if unusable."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    # Servers label pages with the legacy base charset while authors type characters only its superset
    # has (GB18030 ideographs, HKSCS names, cp1252 smart quotes); browsers decode with the superset, so a
    # strict decode with the base charset would fail on pages that render fine. w3lib resolves Python's
    # aliases and widens the way browsers do (gb2312/gbk -> gb18030, big5 -> big5hkscs, latin-1/ascii ->
    # cp1252, shift_jis -> cp932, ...); it refuses UTF-7 itself.
    try:
        name = resolve_encoding(_LABEL_ALIASES.get(label, label))
    except ValueError:  # e.g. a NUL in the label
        return None
    if name is None:
        return None
    # Binary transforms (base64, zlib, ...) are registered codecs too, but not text encodings;
    # w3lib returns them as they are.
    if not getattr(codecs.lookup(name), "_is_text_encoding", True):
        return None
    return None if name.replace("_", "-") in _REFUSED else name


def declared_charsets(body: bytes, content_type: str | None = None) -> list[str]:
    """Widened codec names the page declares, header first, then <meta>, then the XML declaration."""
    labels: list[str] = []
    if content_type:
        m = _HEADER_CHARSET_RE.search(content_type)
        if m:
            labels.append(m.group(1))
    head = _COMMENT_RE.sub(b"", body[:_HEAD_BYTES])
    for tag in _META_RE.findall(head):
        m = _META_CHARSET_RE.search(tag)
        if m:
            label = m.group(1).decode("ascii", "ignore")
            # A document we could read as ASCII to find this tag is not UTF-16/32 (WHATWG rule).
            if label.lower().replace("_", "-").startswith(("utf-16", "utf-32", "ucs-2")):
                label = "utf-8"
            labels.append(label)
            break
    m = _XML_DECL_RE.match(body[:_HEAD_BYTES])
    if m:
        labels.append(m.group(1).decode("ascii", "ignore"))
    out: list[str] = []
    for label in labels:
        name = widen(label)
        if name and name not in out:
            out.append(name)
    return out


def _strict(body: bytes, codec: str) -> str | None:
    """Decode strictly, except that a sequence cut off at the end of the body is dropped."""
    try:
        decoder = codecs.getincrementaldecoder(codec)("strict")
        return decoder.decode(body, final=False)
    except (UnicodeDecodeError, LookupError, ValueError, TypeError):
        return None


def _damaged(body: bytes, codec: str) -> str | None:
    """Decode with replacement if only a few sequences are broken; None if the label looks wrong."""
    try:
        text = codecs.getincrementaldecoder(codec)("replace").decode(body, final=False)
    except (LookupError, ValueError, TypeError):
        return None
    non_ascii = len(body.translate(None, _ASCII))
    errors = text.count("\ufffd")
    # A page with almost no non-ASCII bytes tells nothing either way: leave it to the detector.
    if errors and non_ascii >= 16 and errors <= max(1, non_ascii * _DAMAGE_RATIO):
        return text
    return None


def _damaged_utf8(body: bytes) -> str | None:
    """UTF-8 with replacement when the broken sequences are a handful for the page's size; see step 4."""
    text = body.decode("utf-8", "replace")
    errors = text.count("\ufffd") - body.count(b"\xef\xbf\xbd")  # a real U+FFFD is not damage
    if errors <= 0 or errors > max(1, len(body) * _UTF8_DAMAGE_PER_BYTE):
        return None
    # Evidence that the page is UTF-8 at all: at least as many valid multi-byte characters as broken
    # bytes. A Latin-1 or GBK page has next to none (its every non-ASCII byte breaks UTF-8).
    valid = sum(1 for ch in text if ch > "\x7f") - errors - body.count(b"\xef\xbf\xbd")
    return text if valid >= errors else None


def _without_broken_cjk(body: bytes) -> bytes:
    """body minus the bytes GB18030 rejects, if they are few; body itself otherwise."""
    # GB18030 accepts almost every lead/trail pair, so what it rejects is broken in Big5, Shift_JIS
    # and EUC-KR as well: it is the damage, not a hint about which of these the page is in.
    # surrogateescape turns each rejected byte into one lone surrogate, and GB18030 round-trips
    # every valid sequence byte for byte, so re-encoding without the surrogates drops exactly those.
    text = body.decode("gb18030", "surrogateescape")
    broken = len(_ESCAPED_RE.findall(text))
    if not broken or broken > max(1, len(body.translate(None, _ASCII)) * _DAMAGE_RATIO):
        return body
    return _ESCAPED_RE.sub("", text).encode("gb18030")


def _detect(body: bytes) -> str | None:
    try:
        results = from_bytes(body)
        best = results.best()
    except Exception:  # a detector bug must not take the page down with it
        return None
    if best is None:
        return None
    # On Latin text the detector cannot tell the Western code pages apart (cp1250, cp1252, cp1257
    # all decode "Notícias" with no "chaos") and picks by a coherence score that is noise at this
    # level, or reports one of several code pages that give the very same text. Browsers fall back
    # to windows-1252; so do we when it ties for the least chaos or decodes to the same text.
    # (could_be_from_charset lists every code page that decodes to the same text as the match.)
    tied = {
        widen(name) for match in results if match.chaos <= best.chaos + 0.01 for name in match.could_be_from_charset
    }
    return "cp1252" if "cp1252" in tied else widen(best.encoding)


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, codec_name); see the module docstring for the order. Never raises."""
    # Not w3lib's html_to_unicode(): it decodes with the declared charset without trying it (a GBK page
    # labelled UTF-8 comes out as mojibake) and has no damaged-page step; its BOM table is used below.
    if not body:
        return "", "utf-8"
    if isinstance(body, str):  # a caller that already decoded
        return body, "utf-8"
    if not isinstance(body, bytes):
        body = bytes(body)

    codec, bom = read_bom(body)
    if codec is not None and bom is not None:
        text = _strict(body[len(bom) :], codec)
        if text is not None:
            return text, codec

    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf-8"

    declared = declared_charsets(body, content_type)
    for codec in declared:
        text = _strict(body, codec)
        if text is not None:
            return text, codec

    for codec in declared + (["utf-8"] if "utf-8" not in declared else []):
        text = _damaged(body, codec) or (_damaged_utf8(body) if codec == "utf-8" else None)
        if text is not None:
            return text, codec

    sample = _without_broken_cjk(body)
    codec = _detect(sample)
    if codec:
        text = _strict(body, codec)
        if text is None and sample is not body:
            text = _damaged(body, codec)
        if text is not None:
            return text, codec

    # Too damaged for step 4 and nothing detected: the page's own label still beats a guess.
    fallback = declared[0] if declared else "utf-8"
    try:
        return body.decode(fallback, "replace"), fallback
    except (LookupError, ValueError, TypeError):
        return body.decode("utf-8", "replace"), "utf-8"


_XML_DECL_ENCODING_RE = re.compile(r"""\A(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""", re.IGNORECASE)


def decode_feed(body: bytes, content_type: str | None = None) -> tuple[bytes, str]:
    """(UTF-8 bytes, codec the feed was read with): a feed decoded in the same order as a page, for feedparser.

    feedparser trusts the declared charset, so a feed declared UTF-8 and sent in GBK gives mojibake titles.
    Decoded here (BOM, strict UTF-8, the declared charset widened, the detector), re-encoded as UTF-8, with
    its XML declaration rewritten to say so; the caller tells feedparser ``charset=utf-8`` too.
    """
    text, codec = decode_html(body, content_type)
    text = text.lstrip("\ufeff")
    text = _XML_DECL_ENCODING_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}utf-8{m.group(2)}", text, count=1)
    return text.encode("utf-8", "replace"), codec
