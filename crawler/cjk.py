"""The CJK character ranges, defined once: every module that tells CJK text from Latin text uses these.

Each name is the inside of a regex character class (combine them as ``f"[{HAN}{KANA}]"``):
- HAN: the CJK Unified Ideographs (U+4E00-9FFF), Extension A (U+3400-4DBF), the compatibility ideographs
  (U+F900-FAFF) and the supplementary ideographic planes (Extensions B-F and the compatibility supplement,
  U+20000-2FFFF), where rare Chinese names and place names live;
- KANA: Hiragana and Katakana (U+3040-30FF);
- HANGUL: the precomposed Hangul syllables (U+AC00-D7AF);
- CJK: all three. Each such character counts as one token where text is split into words, since these
  scripts do not separate words by spaces;
- UNSPACED: the scripts written without spaces between words, where any character boundary is a word
  boundary (for cutting snippets): the CJK radicals, symbols, kana, bopomofo and ideographs (U+2E80-9FFF),
  the compatibility ideographs, halfwidth katakana (U+FF66-FF9F) and everything above U+1FFFF. Hangul is
  not in it: Korean separates words with spaces.

WORD_RE finds words that way: each CJK character is one, and so is each run of other letters and digits.
"""

from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
KANA = "\u3040-\u30ff"
HANGUL = "\uac00-\ud7af"
CJK = KANA + HAN + HANGUL

UNSPACED = "\u2e80-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0010ffff"

CJK_RE = re.compile(f"[{CJK}]")
UNSPACED_RE = re.compile(f"[{UNSPACED}]")
WORD_RE = re.compile(f"[{CJK}]|[^\\W_{CJK}]+")
