"""Benchmark: `newsradar rules test --since 7d --json` (the rule backtest) over 100,000 stored stories and 200
rules. Run: ``python bench/backtest.py [--quick]``.

A SQLite store (in a temp dir) gets 100k deterministic stories first seen over 30 days from 20 sources, half
English and half Chinese (with some Traditional characters and full-width punctuation), ~3 KB of text each, built
from the word pools of bench/match.py; a fifth carry a term of one of the rules (and a `matches` row alerted for
it, as the planner would have written), 5% are syndicated copies, 2% were published long before they were first
seen. 200 rules of 5 terms (half Latin, half CJK), every tenth with an all-term, every seventh with a veto.
Timed in process, best of 3, wall and CPU: the whole command (`crawler.cli.main.main`, stdout to memory). Baseline
in the same run: `RuleSet.match` alone over the same stories already in memory (what no backtest can go below),
so the ratio is the cost of reading the store and writing the lines.
Target: well under 1 s per 1,000 stories in the period.
"""
from __future__ import annotations

import contextlib
import io
import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from bench.match import CJK_POOL, EN_WORDS, SYLLABLES, VETO, ZH_PUNCT  # noqa: E402
from crawler.cli.main import main as newsradar  # noqa: E402
from crawler.config.model import compile_rules, load_config  # noqa: E402
from crawler.store.database import Match, Store, Story  # noqa: E402

SEED = 20251203
N = 100_000
DAYS = 30
RULES = 200
TERMS_PER_RULE = 5
ARTICLE_BYTES = 3_000
TARGET_S_PER_1000 = 1.0
NOW = datetime(2025, 6, 15, 0, 0, tzinfo=timezone.utc)


def make_rules(rnd: random.Random) -> list[dict]:
    seen: set[str] = set()
    rules = []
    for n in range(RULES):
        terms: list[str] = []
        while len(terms) < TERMS_PER_RULE:
            if len(terms) % 2 == n % 2:
                term = " ".join("".join(rnd.choices(SYLLABLES, k=rnd.randint(2, 3))) for _ in range(rnd.randint(1, 2)))
            else:
                term = "".join(rnd.choices(CJK_POOL, k=rnd.randint(3, 4)))
            if term.casefold() not in seen:
                seen.add(term.casefold())
                terms.append(term)
        rule = {"name": f"rule-{n}", "any": terms[1:] if n % 10 == 0 else terms, "notify": ["desk"]}
        if n % 10 == 0:
            rule["all"] = terms[:1]
        if n % 7 == 0:
            rule["none"] = [rnd.choice(VETO)]
        rules.append(rule)
    return rules


def config_text(tmp: str, rules: list[dict]) -> str:
    # a rule as a JSON flow mapping is valid YAML
    lines = [f"store: sqlite:///{tmp}/bench.db", "rules:"]
    lines += [f"  - {json.dumps(r, ensure_ascii=False)}" for r in rules]
    lines += ["notifiers:", "  desk: {url: \"json://127.0.0.1:9/hook\"}", ""]
    return "\n".join(lines)


def sentence_pools(rnd: random.Random) -> dict[str, list[str]]:
    en = [" ".join(rnd.choices(EN_WORDS, k=rnd.randint(6, 14))).capitalize() + ". " for _ in range(800)]
    zh = ["".join(rnd.choices(CJK_POOL, k=rnd.randint(8, 20))) + rnd.choice(ZH_PUNCT) for _ in range(800)]
    return {"en": en, "zh": zh}


def make_text(rnd: random.Random, pool: list[str], term: str | None) -> str:
    parts, size = [], 0
    while size < ARTICLE_BYTES:
        piece = rnd.choice(pool)
        parts.append(piece)
        size += len(piece.encode())
    if term:
        parts.insert(rnd.randrange(len(parts)), term + " ")
    return "".join(parts)


def fill(store: Store, rules: list[dict], n: int) -> None:
    rnd = random.Random(SEED)
    pools = sentence_pools(rnd)
    stories, matches = [], []
    for i in range(1, n + 1):
        lang = "en" if i % 2 else "zh"
        first_seen = NOW - timedelta(seconds=rnd.randrange(DAYS * 86400))
        published = first_seen - timedelta(days=10 if rnd.random() < 0.02 else 0, minutes=rnd.randrange(60))
        dup = i - rnd.randrange(1, 50) if i > 100 and rnd.random() < 0.05 else None
        rule = rnd.choice(rules) if rnd.random() < 0.2 else None
        term = rnd.choice(rule["any"]) if rule else None
        title = (" ".join(rnd.choices(EN_WORDS, k=9)).title() if lang == "en"
                 else "".join(rnd.choices(CJK_POOL, k=20)))
        stories.append(dict(id=i, url=f"https://example.com/{i}", source=f"src-{i % 20}", title=title,
                            text=make_text(rnd, pools[lang], term), lang=lang, published=published,
                            published_offset=480 if lang == "zh" else 0, first_seen=first_seen,
                            content_hash=f"{i:032x}", duplicate_of=dup, date_is_first_seen=False, origin="page"))
        if rule and dup is None:
            matches.append(dict(story_id=i, rule=rule["name"], terms=[term], alerted=True))
    with store.engine.begin() as conn:
        for table, rows in ((Story, stories), (Match, matches)):
            for k in range(0, len(rows), 5_000):
                conn.execute(insert(table), rows[k:k + 5_000])


def best(fn, runs: int = 3) -> tuple[float, float]:
    """(wall, CPU) of the fastest of `runs` (the machine may be shared)."""
    times = []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t, time.process_time() - c))
    return min(times)


def main() -> int:
    n = 10_000 if "--quick" in sys.argv else N
    rnd = random.Random(SEED + 1)
    rules = make_rules(rnd)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_text(tmp, rules), encoding="utf-8")
        path.chmod(0o600)
        config = load_config(path)
        store = Store(config.store)
        t = time.perf_counter()
        fill(store, rules, n)
        print(f"filled {n:,} stories, {len(rules)} rules, in {time.perf_counter() - t:.1f} s")
        start = NOW - timedelta(days=7)
        with store.session() as s:
            period = [(st.title, st.text) for st in s.scalars(select(Story).where(
                Story.first_seen >= start, Story.first_seen < NOW, Story.duplicate_of.is_(None)))]
        store.close()
        ruleset = compile_rules(config)
        argv = ["rules", "test", "--since", "7d", "--now", NOW.isoformat(), "--json", "-c", str(path)]
        out = io.StringIO()

        def command() -> None:
            out.seek(0)
            out.truncate()
            with contextlib.redirect_stdout(out):
                assert newsradar(argv) == 0

        def match_only() -> None:
            for title, text in period:
                ruleset.match(title, text)

        load_wall, load_cpu = best(lambda: load_config(path))  # a fixed cost of every command, in `command`
        wall, cpu = best(command)
        lines = out.getvalue().count("\n")
        base_wall, base_cpu = best(match_only)
    per = 1000 / len(period)
    kb = sum(len(text.encode()) for _, text in period) / len(period) / 1024
    print(f"rules test --since 7d --json: {len(period):,} original stories of ~{kb:.1f} KB in the period, "
          f"{ruleset.terms:,} terms, {lines:,} lines out")
    print(f"  whole command: {wall:.2f} s wall, {cpu:.2f} s CPU = {wall * per:.3f} s wall, {cpu * per:.3f} s CPU "
          f"per 1,000 stories (of which loading the config, once per command: {load_cpu:.2f} s CPU)")
    print(f"  baseline, RuleSet.match alone over the same stories in memory: {base_wall:.2f} s wall, "
          f"{base_cpu:.2f} s CPU = {base_cpu * per:.3f} s CPU per 1,000 ({cpu / base_cpu:.2f}x of it)")
    ok = cpu * per < TARGET_S_PER_1000
    print(f"target < {TARGET_S_PER_1000:.0f} s per 1,000 stories: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
