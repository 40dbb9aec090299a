"""Ticker symbols: one spelling per security, and the spellings it goes by in text. Pure, no I/O.

`normalize(raw, market=None)` returns the one form newsradar stores and rules compare, or None:

| written | normalised |
|---|---|
| `002230`, `SZ002230`, `sz.002230`, `002230.SZ`, `科大讯飞(002230)`, `科大讯飞（002230）` | `002230.SZ` |
| `688256`, `SH688256`, `688256.SH`, `688256.SS` (Yahoo) | `688256.SH` |
| `830799`, `830799.BJ` | `830799.BJ` |
| `9988.HK`, `09988.HK`, `HK9988`, `09988` (with market `HK`) | `9988.HK` (at least 4 digits: `0700.HK`) |
| `AAPL`, `aapl`, `$AAPL`, `NASDAQ:AAPL`, `BRK.B` | `AAPL`, `BRK.B` |

A bare six-digit A-share code gets its exchange from its prefix (60/68/90 Shanghai, 00/30/20 Shenzhen,
4/8/92 Beijing). Bare digits of another length are only a ticker when the caller names the market (`HK`):
`9988` alone is a number, not a ticker. `spellings(ticker)` lists how the normalised ticker is written in news
text, for rules that look for a ticker in titles and text.
"""

from __future__ import annotations

import re

_CN_SUFFIX = {"SZ": "SZ", "SH": "SH", "SS": "SH", "BJ": "BJ"}
_CN_DOTTED = re.compile(r"^(\d{6})\.(SZ|SH|SS|BJ)$")
_CN_PREFIXED = re.compile(r"^(SZ|SH|BJ)[.:]?(\d{6})$")
_HK_DOTTED = re.compile(r"^(?:HK[.:]?)?(\d{1,5})(?:\.HK| HK)?$")
_US = re.compile(r"^(?:\$|(?:NASDAQ|NYSE|AMEX|NYSEARCA)\s*:\s*)?([A-Z]{1,5}(?:[.-][A-Z])?)$")
_IN_PARENS = re.compile(r"[(（]\s*([0-9A-Za-z.:]+)\s*[)）]")


def cn_exchange(code: str) -> str | None:
    """The exchange of a bare six-digit A-share code, from its prefix."""
    if code.startswith(("60", "68", "90")):
        return "SH"
    if code.startswith(("00", "30", "20")):
        return "SZ"
    if code.startswith(("4", "8", "92")):
        return "BJ"
    return None


def normalize(raw: object, market: str | None = None) -> str | None:
    """The normalised ticker for `raw` (see the table above), or None when it is not one.

    `market` ("CN", "HK", "US") is what the source knows: HKEX codes are bare digits, SSE codes bare six digits."""
    if raw is None:
        return None
    text = str(raw).strip()
    paren = _IN_PARENS.search(text)
    if paren:  # 科大讯飞(002230)
        text = paren.group(1)
    text = text.upper().replace("．", ".")
    if not text:
        return None
    m = _CN_DOTTED.match(text)
    if m:
        return f"{m.group(1)}.{_CN_SUFFIX[m.group(2)]}"
    m = _CN_PREFIXED.match(text)
    if m:
        return f"{m.group(2)}.{m.group(1)}"
    if text.isdigit() and market != "HK":
        if len(text) == 6 and cn_exchange(text):
            return f"{text}.{cn_exchange(text)}"
        return None
    m = _HK_DOTTED.match(text)
    if m and (market == "HK" or text.endswith("HK") or text.startswith("HK")):
        return f"{int(m.group(1)):04d}.HK"
    if market in (None, "US"):
        m = _US.match(text)
        if m and not text.isdigit():
            return m.group(1).replace("-", ".")
    return None


def spellings(ticker: str) -> tuple[str, ...]:
    """How a normalised ticker is written in news text (terms a rule looks for; matched on word boundaries).

    A-shares: the bare code (also inside `002230.SZ`, `sz.002230`, `(002230)`) and `SZ002230`. Hong Kong:
    `9988.HK`, `09988.HK`, `HK9988`, `09988`, `9988 HK`. US: `$AAPL`, `(AAPL)`, `NASDAQ:AAPL`, `NYSE:AAPL`,
    `AAPL.O`, `AAPL.N`, `AAPL.US` — never the bare symbol, which is too often a word ("IT", "CAT")."""
    m = re.match(r"^(\d{6})\.(SZ|SH|BJ)$", ticker)
    if m:
        code, ex = m.groups()
        return (code, f"{ex}{code}")
    m = re.match(r"^(\d{4,5})\.HK$", ticker)
    if m:
        n = int(m.group(1))
        four, five = f"{n:04d}", f"{n:05d}"
        return tuple(dict.fromkeys((f"{four}.HK", f"{five}.HK", f"HK{four}", f"HK{five}", five, f"{four} HK")))
    return (f"${ticker}", f"({ticker})", f"NASDAQ:{ticker}", f"NYSE:{ticker}", f"{ticker}.O", f"{ticker}.N",
            f"{ticker}.US")
