"""Event threads on real feeds: pairwise precision and recall of crawler.dedupe.threads.same_event over the
hand-labelled entries of tests/data/threads/labels.yaml (feeds of ../shared/corpora/feeds, read where they are).

Entries are parsed the way a feed source with `follow: false` is (spiders.FeedSpider: crawler.extract.decode,
then feedparser) and turned into stories by crawler.extract.story.build_story; title and text are folded with
alerts.rules.normalize.fold, as the caller of `signature` does. A pair is scored only when the store would
compare it: both entries within `threads.window` (6 h) of each other, or either without a date. Pairs of one
event are positives, pairs of two events negatives, except pairs the file lists as unscored (related events)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from scrapy.http import XmlResponse

from alerts.rules.normalize import fold
from crawler.dedupe import threads
from crawler.extract.story import build_story
from crawler.items import ArticlePage
from spiders import FeedSpider
from tests.conftest import corpus

LABELS = Path(__file__).resolve().parents[1] / "data" / "threads" / "labels.yaml"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)   # fixed: no test depends on today's date
WINDOW = timedelta(hours=6)
NOTICES = "chardet-gb2312/softsea.net.xml"   # software release notices: most of the same-event pairs


def _stories(root: Path, feeds: dict[str, dict[str, str]]) -> list[tuple[str, str, object]]:
    out = []
    for feed, entries in feeds.items():
        spider = FeedSpider(source={"name": "t", "url": "http://127.0.0.1/feed", "follow": False}, clock=lambda: NOW)
        response = XmlResponse("http://127.0.0.1/feed", body=(root / feed).read_bytes())
        pages = {p.link: p for p in spider.parse_listing(response) if isinstance(p, ArticlePage)}
        missing = sorted(set(entries) - set(pages))
        assert not missing, f"{feed}: labelled entries not in the feed: {missing[:3]}"
        for key, event in entries.items():
            out.append((event, feed, build_story(pages[key], now=NOW, max_age=timedelta(days=100_000))))
    return out


def test_threading_precision_on_labelled_pairs_from_real_feeds():
    root = corpus("feeds")
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    related: dict[str, set[str]] = {}
    for group in labels["unscored"]:
        for event in group:
            related.setdefault(event, set()).update(group)
    stories = _stories(root, labels["feeds"])
    sigs = [threads.signature(fold(s.title or "").text, fold(s.text or "").text) for _, _, s in stories]
    tp = fp = fn = scored = 0
    false_merges = []
    found = {NOTICES: [0, 0], "news": [0, 0]}   # same-event pairs: [merged, all], release notices apart
    for (i, (ea, fa, a)), (j, (eb, _, b)) in itertools.combinations(enumerate(stories), 2):
        if ea != eb and eb in related.get(ea, ()):
            continue
        if a.published and b.published and abs(a.published - b.published) > WINDOW:
            continue
        scored += 1
        merged = threads.same_event(sigs[i], sigs[j])
        if ea == eb:
            tp += merged
            fn += not merged
            kind = found[NOTICES if fa == NOTICES else "news"]
            kind[0] += merged
            kind[1] += 1
        elif merged:
            fp += 1
            false_merges.append((a.title, b.title))
    positives = tp + fn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives
    print(f"\nthreading, labelled pairs from real feeds: {len(stories)} entries, {scored} pairs scored "
          f"({positives} same-event), precision {precision:.3f}, recall {recall:.3f} "
          f"(threshold {threads.THRESHOLD}); same-event pairs merged: news {found['news'][0]}/{found['news'][1]}, "
          f"release notices {found[NOTICES][0]}/{found[NOTICES][1]}; false merges: {false_merges}")
    assert positives >= 30, "too few same-event pairs to measure recall"
    assert precision >= 0.95, false_merges
    assert recall >= 0.5
