"""crawler.extract.decode: the decoding order (BOM, strict UTF-8, declared charset widened, damaged page,
detection, replacement) on pages built here in the encodings that finance sites actually serve."""

from __future__ import annotations

import codecs

import pytest

from crawler.extract.decode import declared_charsets, decode_html, widen

# Long enough for charset detection to be sure it is Chinese (a short GBK snippet is ambiguous).
ZH = (
    "国家统计局今天发布数据显示，五月份全国居民消费价格同比上涨百分之零点三，环比下降百分之零点一。"
    "其中，城市上涨百分之零点三，农村上涨百分之零点二；食品价格下降百分之二，非食品价格上涨百分之零点八。"
    "分析人士认为，随着稳增长政策持续发力，国内需求有望逐步恢复，物价将保持温和回升的态势。"
)
# 镕 is in GBK but not GB2312; 𠀀 and 㐀 exist only in GB18030 (four-byte sequences).
ZH_GB18030_ONLY = "朱镕基时代的改革与𠀀㐀两个扩展字符。" + ZH
HANT = "恆生指數今日高開高走，收市升一百零二點，科技指數升百分之二，內地科網股及半導體股領漲大市。"
# 啲, 嘅 and 咗 are Hong Kong supplementary characters: in Big5-HKSCS, not in plain Big5.
HKSCS = "分析員話：「最近啲大模型訂單多咗，晶片股嘅估值亦重新被市場審視。」" + HANT
LATIN = (
    "The chairman said \u201cwe\u2019re not done yet\u201d \u2013 shares rose 3\u00a0% "
    "on the caf\u00e9 chain\u2019s results."
)


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{body}</p></body></html>"


CASES = [
    # id, bytes, content_type, expected text, expected codec
    ("utf8-plain", page(ZH).encode("utf-8"), None, page(ZH), "utf-8"),
    ("utf8-bom", codecs.BOM_UTF8 + page(ZH).encode("utf-8"), None, page(ZH), "utf-8"),
    ("utf16le-bom", codecs.BOM_UTF16_LE + page(HANT).encode("utf-16-le"), None, page(HANT), "utf-16-le"),
    (
        "gbk-meta-only",
        page(ZH, '<meta http-equiv="Content-Type" content="text/html; charset=gbk">').encode("gbk"),
        None,
        page(ZH, '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'),
        "gb18030",
    ),
    (
        "gb2312-declared-gb18030-chars",
        page(ZH_GB18030_ONLY, '<meta charset="gb2312">').encode("gb18030"),
        None,
        page(ZH_GB18030_ONLY, '<meta charset="gb2312">'),
        "gb18030",
    ),
    ("big5-header-only", page(HANT).encode("big5"), "text/html; charset=big5", page(HANT), "big5hkscs"),
    (
        "big5-hkscs-chars",
        page(HKSCS, '<meta charset="big5">').encode("big5hkscs"),
        None,
        page(HKSCS, '<meta charset="big5">'),
        "big5hkscs",
    ),
    # Header says latin-1, body is UTF-8: strict UTF-8 comes before any declaration.
    ("header-latin1-body-utf8", page(ZH).encode("utf-8"), "text/html; charset=ISO-8859-1", page(ZH), "utf-8"),
    # Header says UTF-8, body is GBK: the declaration fails strictly, detection finds GB.
    ("header-utf8-body-gbk", page(ZH).encode("gbk"), "text/html; charset=utf-8", page(ZH), "gb18030"),
    ("no-charset-gbk", page(ZH).encode("gbk"), None, page(ZH), "gb18030"),
    # Declared latin-1 but written in cp1252 (smart quotes, en dash): widened, so no C1 controls.
    ("latin1-declared-cp1252", page(LATIN).encode("cp1252"), "text/html; charset=latin-1", page(LATIN), "cp1252"),
    (
        "xml-declaration",
        ('<?xml version="1.0" encoding="big5"?>' + page(HANT)).encode("big5"),
        None,
        '<?xml version="1.0" encoding="big5"?>' + page(HANT),
        "big5hkscs",
    ),
]


@pytest.mark.parametrize(("body", "content_type", "text", "codec"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decode_table(body, content_type, text, codec):
    assert decode_html(body, content_type) == (text, codec)


def test_header_charset_is_tried_before_meta():
    body = page(ZH, '<meta charset="gbk">').encode("gbk")
    assert declared_charsets(body, "text/html; charset=big5") == ["big5hkscs", "gb18030"]
    # Big5 cannot decode these GBK bytes strictly, so the <meta> declaration gets its turn.
    assert decode_html(body, "text/html; charset=big5")[1] == "gb18030"


def test_meta_inside_a_comment_is_not_a_declaration():
    body = ("<!-- <meta charset=koi8-r> -->" + page(LATIN)).encode("cp1252")
    assert declared_charsets(body) == []
    assert decode_html(body)[1] == "cp1252"


def test_encoding_attribute_of_a_wrapper_tag_is_not_a_declaration():
    # zh-cwced stores pages behind a line like this; only a real <?xml ...?> at the start counts.
    body = ('<text id="http://example.com/a" title="t" encoding="koi8-r">\n' + page(LATIN)).encode("cp1252")
    assert declared_charsets(body) == []
    text, codec = decode_html(body)
    assert codec == "cp1252" and "\u201cwe\u2019re" in text


def test_meta_declaring_utf16_means_utf8():
    # A page we could read as ASCII to find the tag is not UTF-16 (WHATWG).
    assert declared_charsets(page("x", '<meta charset="utf-16">').encode()) == ["utf-8"]


def test_meta_after_the_first_4kb_is_ignored():
    body = ("<html><head>" + " " * 5000 + '<meta charset="gbk"></head></html>').encode()
    assert declared_charsets(body) == []


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("big5", "big5hkscs"),
        ("iso-8859-1", "cp1252"),
        ("latin-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("utf8", "utf-8"),
        ("Shift_JIS", "cp932"),
        ("utf-7", None),  # a script-injection vector, never honoured
        ("base64", None),  # a registered codec, but not a text encoding
        ("unset", None),
        ("", None),
    ],
)
def test_widen(label, codec):
    assert widen(label) == codec


@pytest.mark.parametrize(("label", "codec"), [("windows-874", "cp874"), ("windows-31j", "cp932"), ("x-gbk", "gb18030")])
def test_widen_knows_whatwg_labels_python_does_not(label, codec):
    # windows-874 and windows-31j come from w3lib's table, x-gbk from ours (w3lib does not know it).
    assert widen(label) == codec


def test_truncated_multibyte_sequence_at_the_end_is_dropped():
    body = page(ZH).encode("utf-8")
    cut = body[: body.index("百分之".encode()) + 2]  # in the middle of a three-byte character
    text, codec = decode_html(cut)
    assert codec == "utf-8"
    assert "\ufffd" not in text and text.endswith("上涨")


PT = "O banco central disse que a inflação continua elevada e que as decisões dependerão dos próximos dados. " * 3


@pytest.mark.parametrize(
    ("text", "charset", "declared", "codec"),
    [
        (ZH + ZH, "gbk", True, "gb18030"),
        (ZH + ZH, "gbk", False, "gb18030"),
        (ZH + ZH, "utf-8", True, "utf-8"),
        (ZH + ZH, "utf-8", False, "utf-8"),
        (PT, "utf-8", False, "utf-8"),
    ],
    ids=["gbk-declared", "gbk-undeclared", "utf8-declared", "utf8-undeclared", "utf8-latin-undeclared"],
)
def test_one_stray_byte_does_not_send_a_page_to_another_codec(text, charset, declared, codec):
    # A character cut in half is what old portals do to long titles. Without the damaged-page steps
    # the detector answers with a Cyrillic or Central European code page, or gives up.
    head = f'<meta charset="{charset}">' if declared else ""
    before, after = page(text + " @ok", head).split("@")
    # A stray byte before ASCII punctuation, and for UTF-8 one before a letter (in GBK a lead byte
    # and a letter make a valid character: that damage cannot be seen, and does not hurt decoding).
    strays = ((b"\xc7", "<" + after),) + (((b"\xe9", after),) if charset == "utf-8" else ())
    for stray, rest in strays:
        decoded, got = decode_html(before.encode(charset) + stray + rest.encode(charset))
        assert got == codec
        assert decoded.count("\ufffd") == 1 and text in decoded


def test_binary_garbage_never_raises():
    text, codec = decode_html(b"<p>ok</p>" + bytes(range(256)) * 4)
    assert isinstance(codec, str) and "<p>ok</p>" in text


@pytest.mark.parametrize(("head", "codec"), [('<meta charset="gbk">', "gb18030"), ("", "utf-8")])
def test_when_detection_fails_the_declared_charset_then_utf8_replace(monkeypatch, head, codec):
    # Too damaged for step 4 (one broken character in five), and the detector finds nothing.
    monkeypatch.setattr("crawler.extract.decode._detect", lambda body: None)
    rise = "上涨".encode("gbk")
    body = page("市场上涨" * 40, head).encode("gbk").replace(rise, rise + b"\xc7 ")
    text, got = decode_html(body)
    assert got == codec
    assert ("市场上涨" in text) == (codec == "gb18030")


def test_empty_body():
    assert decode_html(b"") == ("", "utf-8")


EN = "The central bank held rates and traders expected no change before the summer meeting. "
QUOTED = "Shares of Nestlé and L’Oréal fell — “we didn’t expect it,” one trader said. "


@pytest.mark.parametrize("head", ["", '<meta charset="utf-8">'], ids=["undeclared", "declared"])
@pytest.mark.parametrize("strays", [2, 5])
def test_utf8_page_with_a_handful_of_stray_latin1_bytes_stays_utf8(head, strays):
    # A 9 KB English UTF-8 page with a few curly quotes and accents, where a CMS pasted a few cp1252
    # bytes: as many broken bytes as good non-ASCII characters, but only `strays` in 9,000 bytes.
    body = page(EN * 50 + QUOTED + EN * 50, head).encode("utf-8")
    for i, stray in enumerate((b"\xe9", b"\x92", b"\xa0", b"\xfc", b"\x93")[:strays]):
        at = body.index(b"traders", 1500 * (i + 1))
        body = body[:at] + stray + body[at:]
    text, codec = decode_html(body)
    assert codec == "utf-8"
    assert text.count("\ufffd") == strays
    assert QUOTED in text and "â€" not in text


def test_latin1_and_gbk_pages_are_not_taken_for_damaged_utf8():
    # Every non-ASCII byte of these breaks UTF-8 and none forms a UTF-8 character: not a damaged UTF-8 page.
    latin = page("Nestlé et L'Oréal reculent. " * 300).encode("cp1252")
    assert decode_html(latin) == (page("Nestlé et L'Oréal reculent. " * 300), "cp1252")
    few_cjk = page("The index rose. " * 400 + "科大讯飞").encode("gbk")
    assert decode_html(few_cjk)[1] != "utf-8"
