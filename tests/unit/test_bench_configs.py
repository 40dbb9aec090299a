"""The benchmarks' config texts stay valid config (a benchmark's config once went invalid unnoticed: a duplicate key)."""

from __future__ import annotations

from pathlib import Path

from bench import crawl, report
from crawler.config.model import parse_config


def test_the_crawl_benchmark_config_parses(tmp_path):
    text = crawl.CONFIG.format(base="http://127.0.0.1:9", concurrency=16, per_domain=2)
    config = parse_config(text, Path(tmp_path / "config.yaml"), {})
    assert config.sources[0].allow_private


def test_the_report_benchmark_config_parses(tmp_path):
    assert parse_config(report.CONFIG, Path(tmp_path / "config.yaml"), {}).watchlists
