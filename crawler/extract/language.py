"""Language of an article: ``detect_lang(text)`` and ``page_lang(text, tree)`` -> ISO 639-1 code or None.

Chinese, Japanese and Korean are told by their scripts (exact, where langid confuses short passages); other
text by py3langid, whose model loads on first use, not on import, so only pages that need it pay.
"""

from __future__ import annotations

import re

import py3langid

from crawler.cjk import HAN, HANGUL, KANA

__all__ = ["detect_lang", "page_lang"]

_KANA_RE, _HANGUL_RE, _HAN_RE = (re.compile(f"[{chars}]") for chars in (KANA, HANGUL, HAN))


def _normalise_lang(code: str | None) -> str | None:
    primary = re.split(r"[-_]", (code or "").strip().lower())[0]
    return primary if re.fullmatch(r"[a-z]{2}", primary) else None


# Below this many letters langid's answer is noise ("Home" comes out as Afrikaans).
_MIN_LANGID_LETTERS = 20


def detect_lang(text: str) -> str | None:
    """ISO 639-1 code of ``text`` (its first 3,000 characters), or None when it is too short to tell."""
    sample = text[:3000]
    letters = sum(map(str.isalpha, sample))
    if not letters:
        return None
    # langid confuses short Chinese/Japanese passages; script ratios are exact for these three.
    kana, hangul, han = (len(r.findall(sample)) for r in (_KANA_RE, _HANGUL_RE, _HAN_RE))
    if kana / letters > 0.05:
        return "ja"
    if hangul / letters > 0.3:
        return "ko"
    if han / letters > 0.3:
        return "zh"
    if letters < _MIN_LANGID_LETTERS:
        return None
    return _normalise_lang(py3langid.classify(sample)[0])


def page_lang(text: str, tree) -> str | None:
    """Language of the main text; <html lang> only when there is no text to tell it from."""
    detected = detect_lang(text) if text else None
    if detected or tree is None:
        return detected
    return _normalise_lang(tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"))
