"""URL canonicalisation: one story per canonical URL."""

import pytest

from crawler.dedupe.urls import canonical_url

CASES = [
    ("https://example.com/a?utm_source=x&utm_medium=y", "https://example.com/a"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a#comments", "https://example.com/a"),
    ("HTTPS://EXAMPLE.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("https://example.com/a?fbclid=1&gclid=2&spm=a.b.c&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?UTM_Campaign=Q", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/新闻/1.html", "https://example.com/%E6%96%B0%E9%97%BB/1.html"),
    ("https://example.com/a?q=%7e", "https://example.com/a?q=~"),
    ("https://example.com/a?page=", "https://example.com/a?page="),
]


@pytest.mark.parametrize("raw, expected", CASES)
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


def test_variants_collapse_to_one_key():
    variants = [
        "https://news.example.com/2025/06/11/story.html?utm_source=home",
        "https://news.example.com/2025/06/11/story.html?utm_source=markets&utm_campaign=x#top",
        "https://NEWS.example.com/2025/06/11/story.html",
    ]
    assert len({canonical_url(v) for v in variants}) == 1
