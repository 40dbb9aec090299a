"""The benchmarks' config texts stay valid config (a benchmark's config once went invalid unnoticed: a duplicate key)."""

from __future__ import annotations

from pathlib import Path

from bench import cluster, cost, crawl, report
from crawler.config.model import parse_config


def test_the_crawl_benchmark_config_parses(tmp_path):
    text = crawl.CONFIG.format(base="http://127.0.0.1:9", concurrency=16, per_domain=2)
    config = parse_config(text, Path(tmp_path / "config.yaml"), {})
    assert config.sources[0].allow_private


def test_the_report_benchmark_config_parses(tmp_path):
    assert parse_config(report.CONFIG, Path(tmp_path / "config.yaml"), {}).watchlists


def test_the_cluster_benchmark_configs_parse(tmp_path):
    urls = ["http://127.0.0.1:9/f0.xml", "http://127.0.0.2:9/f1.xml"]
    single = parse_config(cluster.config(f"sqlite:///{tmp_path / 'x.db'}", urls, cluster=False),
                          Path(tmp_path / "config.yaml"), {})
    shared = parse_config(cluster.config("postgresql+psycopg://postgres@127.0.0.1:5432/test", urls, cluster=True),
                          Path(tmp_path / "config.yaml"), {})
    assert single.cluster is None and shared.cluster is not None and len(shared.sources) == 2


def test_the_cost_benchmark_floors_are_python_and_its_config_parses(tmp_path):
    for floor in (cost.LIBRARIES, cost.BARE_SCRAPY):
        compile(floor, "<floor>", "exec")
    config = parse_config(cost.config_text(["http://127.0.0.1:9/feed/0.xml"]), Path(tmp_path / "config.yaml"), {})
    assert config.sources[0].allow_private and config.notifiers
