"""Every `newsradar` command and flag against real parts: the local news site, local HTTP/SMTP receivers, a closed
port, SQLite in a temp dir. `run`, `extract`, `--version` and the daemon run as the real CLI in a subprocess; the
commands that only read or change the store (`rules`, `outbox`, `status`, `items`, `notify`, `check`) are called
in-process (tests.conftest.cli), except `status` beside a lock this process holds.

One module-scoped world runs two `run --once` passes (the second after a syndicated copy appears) with one
notifier on a closed port (`max_attempts: 1`: its alerts go dead) and one answering 429 + Retry-After 1 h (its
alerts stay pending, never due during the tests). Read-only tests share it; tests that change the store work on
a copy of its directory.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from crawler.fetch.settings import VERSION
from tests.conftest import ROOT, cli, newsradar
from tests.support.newssite import STORIES, article, publish_site, site_config, syndicate
from tests.support.receivers import HTTPReceiver, Reply, free_port
from tests.support.site import Site

RULES = """
watchlists:
  iflytek: [iFlytek, 科大讯飞, "002230.SZ"]
rules:
  - name: iflytek
    any: ["@iflytek"]
    none: [advertorial]
    notify: [dead-end]
  - name: compute
    any: [国产算力, "domestic computing power"]
    all: [大模型]
    notify: [busy]
  - name: cambricon
    any: [寒武纪]
    notify: [busy]
notifiers:
  dead-end:
    url: "json://127.0.0.1:{closed}/dead"
    max_attempts: 1
  busy:
    url: "json://127.0.0.1:{busy}/busy"
"""
BROKEN = "  - name: broken\n    type: feed\n    allow_private: true\n    url: {base}/500.xml\n"
SOURCES = {"deep-feed", "markets", "news-sitemap", "broken"}
DEAD, PENDING = 4, 3  # iflytek: 4 stories -> dead-end; compute (gbk, big5) + cambricon (mislabelled) -> busy
BANK_TEXT = "Shares of a bank rose on Tuesday after it reported higher quarterly profit and raised its dividend."
BANK = article("Bank profit rises", [BANK_TEXT] * 3, "2025-06-11T09:30:00+08:00", lang="en")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    site, busy = Site(), HTTPReceiver().start()
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/500.xml", "oops", "text/plain", status=500)
    busy.script(*[Reply(429, "slow down", {"Retry-After": "3600"})] * 20)
    home, closed = tmp_path_factory.mktemp("world"), free_port()
    config = home / "config.yaml"
    config.write_text(site_config(publish_site(site), "sqlite:///store.db", BROKEN.format(base=site.base))
                      + RULES.format(closed=closed, busy=busy.port))
    try:
        first = newsradar("run", "--once", "--log-format", "json", "-c", str(config))
        syndicate(site)
        newsradar("run", "--once", "-c", str(config))
        yield SimpleNamespace(site=site, home=home, config=config, closed=closed, busy=busy, first=first)
    finally:
        busy.stop()
        site.close()


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _copy(world, tmp_path: Path) -> Path:
    """The world's config and store, copied: a test that changes the store leaves the shared one alone."""
    home = tmp_path / "copy"
    shutil.copytree(world.home, home)
    return home / "config.yaml"


# -- rules test ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, shown", [
    ("科大訊飛 發布新品", ["MATCH iflytek: matched", "科大讯飞"]),  # the watchlist term matches its Traditional form
    ("劉慶峰:國產算力 訓練大模型", ["MATCH compute: matched", "国产算力", "大模型"]),
    ("iFlytek advertorial content", ["no    iflytek: vetoed by 'advertorial'"]),
    ("domestic computing power rises", ["no    compute: missing all-term(s): '大模型'"]),
    ("nothing relevant here", ["no    iflytek: no any-term found", "no    cambricon: no any-term found"]),
], ids=["traditional-matches-simplified-watchlist", "traditional-matches-simplified-term", "none-veto",
        "missing-all-term", "no-term"])
def test_rules_test_says_which_rule_matches_which_term_and_why_not(world, text, shown):
    out = cli("rules", "test", "-c", str(world.config), text).stdout
    for line in shown:
        assert line in out, out
    assert out.count("MATCH") == sum(s.startswith("MATCH") for s in shown), out


def test_rules_test_json_reports_every_rule_in_config_order(world):
    report = json.loads(cli("rules", "test", "--json", "-c", str(world.config), "no terms at all").stdout)
    assert [r["rule"] for r in report] == ["iflytek", "compute", "cambricon"]
    keys = {"rule", "matched", "any", "all", "missing", "none", "vetoed_by", "reason", "hits", "salience"}
    assert all(set(r) == keys and r["matched"] is False for r in report)
    assert report[1]["missing"] == ["大模型"] and report[1]["reason"].startswith("missing all-term")


def test_rules_test_json_with_hits(world):
    proc = cli("rules", "test", "--json", "-c", str(world.config), "iFlytek advertorial 國產算力", check=False)
    assert proc.returncode == 0, proc.stderr[-500:]
    report = {r["rule"]: r for r in json.loads(proc.stdout)}
    assert report["iflytek"]["vetoed_by"] == "advertorial" and report["iflytek"]["matched"] is False
    assert report["compute"]["any"] == ["国产算力"] and report["compute"]["missing"] == ["大模型"]
    assert {"term": "iFlytek", "field": "text", "start": 0, "end": 7} in report["iflytek"]["hits"]


@pytest.mark.parametrize("target, code, matched", [
    ("bank.html", 0, set()),  # 科大訊飛 002230.SZ and 寒武紀 only in the hot-stocks sidebar
    ("iflytek.html", 0, {"iflytek"}),
    ("URL", 0, {"iflytek"}),  # the live page: its sidebar's 寒武紀 does not make cambricon match
    ("URL-404", 1, set()),
], ids=["sidebar-only-file", "article-file", "url", "url-404"])
def test_rules_test_on_a_saved_page_or_url_matches_the_main_text_only(world, tmp_path, target, code, matched):
    (tmp_path / "bank.html").write_text(BANK)
    iflytek = STORIES["iflytek"]
    body = ["iFlytek said its new model trains on domestic computing power."] * 3
    (tmp_path / "iflytek.html").write_text(article(iflytek["title"], body, iflytek["published"]))
    target = {"URL": world.site.url(iflytek["path"]), "URL-404": world.site.url("/no/such/page.html")}.get(
        target, str(tmp_path / target))
    proc = cli("rules", "test", "-c", str(world.config), target, check=False)
    assert proc.returncode == code, proc.stderr
    assert {line.split()[1].rstrip(":") for line in proc.stdout.splitlines() if line.startswith("MATCH")} == matched
    if code:
        assert "cannot read" in proc.stderr and "404" in proc.stderr


# -- notify test --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, code, says", [
    ("hook", 0, ": sent"), ("mail", 0, ": sent"), ("down", 1, "FAILED"), ("nope", 2, "have: hook, mail, down"),
])
def test_notify_test_sends_one_sample_and_never_prints_a_secret(tmp_path, smtp_server, http_receiver, closed_port,
                                                                name, code, says):
    config = tmp_path / "config.yaml"
    config.write_text(f"""notifiers:
  hook: {{url: "json://user:s3cretpw@127.0.0.1:{http_receiver.port}/x"}}
  mail: {{url: "{smtp_server.url()}"}}
  down: {{url: "json://user:s3cretpw@127.0.0.1:{closed_port}/x"}}
""")
    proc = cli("notify", "test", name, "-c", str(config), check=False)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert says in proc.stdout + proc.stderr
    assert "s3cretpw" not in proc.stdout + proc.stderr
    assert (len(http_receiver.requests), len(smtp_server.messages)) == {"hook": (1, 0), "mail": (0, 1)}.get(name, (0, 0))
    if name == "hook":
        assert "newsradar test alert" in http_receiver.requests[0].json["title"]
    if name == "mail":
        assert "newsradar test alert" in smtp_server.messages[0]["Subject"]


# -- outbox -------------------------------------------------------------------------------------------------------
def test_outbox_lists_pending_and_dead_alerts_with_their_last_error(world):
    rows = _json_lines(cli("outbox", "--json", "-c", str(world.config)).stdout)
    assert all({"id", "status", "notifier", "attempts", "last_error", "story"} <= set(r) for r in rows)
    dead = [r for r in rows if r["status"] == "dead"]
    pending = [r for r in rows if r["status"] == "pending"]
    assert len(dead) == DEAD and len(pending) == PENDING and len(rows) == DEAD + PENDING
    assert {r["notifier"] for r in dead} == {"dead-end"} and {r["notifier"] for r in pending} == {"busy"}
    assert all(r["attempts"] == 1 and "onnection" in r["last_error"] for r in dead), dead
    assert all(r["attempts"] == 1 and "429" in r["last_error"] and r["next_attempt"] for r in pending), pending
    human = cli("outbox", "-c", str(world.config)).stdout.splitlines()
    assert len(human) == DEAD + PENDING
    for r in rows:
        line = next(line for line in human if line.startswith(f"nr-{r['id']} "))
        assert r["status"] in line and r["notifier"] in line and "attempts=1" in line and "last error:" in line
        assert r["story"] in line
    assert cli("outbox", "--all", "--json", "-c", str(world.config)).stdout.count("\n") == DEAD + PENDING


def test_outbox_retry_requeues_dead_or_chosen_alerts_and_the_next_pass_delivers_them_once(world, tmp_path,
                                                                                         http_receiver):
    config = _copy(world, tmp_path)
    none = cli("outbox", "retry", "-c", str(config), check=False)
    assert none.returncode == 2 and "needs alert IDs or --dead" in none.stderr
    assert cli("outbox", "retry", "--dead", "-c", str(config)).stdout.startswith(f"{DEAD} alerts queued again")
    rows = _json_lines(cli("outbox", "--json", "-c", str(config)).stdout)
    assert sum(r["status"] == "pending" and r["attempts"] == 0 for r in rows) == DEAD, "dead rows are pending again"

    live = f"127.0.0.1:{http_receiver.port}"
    text = config.read_text()
    config.write_text(text.replace(f"127.0.0.1:{world.closed}", live).replace(f"127.0.0.1:{world.busy.port}", live))
    newsradar("run", "--once", "-c", str(config))
    dead = [r.json["title"] for r in http_receiver.requests if r.path == "/dead"]
    assert len(dead) == DEAD == len(set(dead)), dead
    assert not [r for r in http_receiver.requests if r.path == "/busy"], "pending rows wait for their Retry-After"

    chosen = next(r for r in rows if r["notifier"] == "busy")
    assert cli("outbox", "retry", str(chosen["id"]), "-c", str(config)).stdout.startswith("1 alerts queued")
    newsradar("run", "--once", "-c", str(config))
    busy = [r.json["title"] for r in http_receiver.requests if r.path == "/busy"]
    assert busy == [chosen["story"]], "only the chosen alert went out"
    assert len([r for r in http_receiver.requests if r.path == "/dead"]) == DEAD, "nothing is delivered twice"
    status = {r["id"]: r["status"] for r in _json_lines(cli("outbox", "--all", "--json", "-c", str(config)).stdout)}
    assert list(status.values()).count("sent") == DEAD + 1 and status[chosen["id"]] == "sent"


def test_outbox_retry_accepts_the_id_as_outbox_shows_it(world, tmp_path):
    config = _copy(world, tmp_path)
    row = _json_lines(cli("outbox", "--json", "-c", str(config)).stdout)[0]
    proc = cli("outbox", "retry", f"nr-{row['id']}", "-c", str(config), check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("1 alerts queued again"), proc.stderr


def test_outbox_id_shows_that_alert_and_an_unknown_id_is_an_error(world):
    row = _json_lines(cli("outbox", "--json", "-c", str(world.config)).stdout)[0]
    for given in (f"nr-{row['id']}", str(row["id"])):
        shown = _json_lines(cli("outbox", given, "--json", "-c", str(world.config)).stdout)
        assert [r["id"] for r in shown] == [row["id"]]
    human = cli("outbox", f"nr-{row['id']}", "-c", str(world.config)).stdout
    assert human.startswith(f"nr-{row['id']} ") and human.count("\n") == 1, human
    missing = cli("outbox", "nr-999999", "-c", str(world.config), check=False)
    assert missing.returncode == 2 and "no alert nr-999999" in missing.stderr
    bad = cli("outbox", "bogus", "-c", str(world.config), check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("usage: newsradar outbox") and "'bogus'" in bad.stderr


def test_outbox_retry_of_an_unknown_id_names_it_and_requeues_nothing(world, tmp_path):
    config = _copy(world, tmp_path)
    dead = [r for r in _json_lines(cli("outbox", "--json", "-c", str(config)).stdout) if r["status"] == "dead"]
    proc = cli("outbox", "retry", str(dead[0]["id"]), "nr-999999", "-c", str(config), check=False)
    assert proc.returncode == 2 and "no alert nr-999999 in the outbox" in proc.stderr, proc.stderr
    after = {r["id"]: r["status"] for r in _json_lines(cli("outbox", "--json", "-c", str(config)).stdout)}
    assert after[dead[0]["id"]] == "dead", "all or nothing: the known id was not queued either"


# -- status (source health after daemon polls: see the metrics test) ---------------------------------------------
def test_status_shows_rule_alerts_today_and_outbox_counts(world):
    report = json.loads(cli("status", "--json", "-c", str(world.config)).stdout)
    assert [s["name"] for s in report["sources"]] == ["deep-feed", "markets", "news-sitemap", "broken"]
    assert report["sources"][0]["schedule"] == "every 5m" and report["sources"][0]["type"] == "feed"
    assert {r["name"]: r["alerts_today"] for r in report["rules"]} == {"iflytek": 4, "compute": 2, "cambricon": 1}
    assert report["rules"][0]["notify"] == ["dead-end"]
    assert report["outbox"] == {"pending": PENDING, "sending": 0, "sent": 0, "dead": DEAD}
    out = cli("status", "-c", str(world.config), env={"COLUMNS": "250"}).stdout
    assert "sources" in out and "rules" in out and "alerts today" in out and all(name in out for name in SOURCES)
    assert f"outbox: {PENDING} pending, 0 sending, 0 sent, {DEAD} dead" in out


def test_status_fits_80_columns_when_piped_and_shows_the_reason_and_the_daemon(world):
    out = cli("status", "-c", str(world.config), env={"COLUMNS": ""}).stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    assert lines[0].startswith("daemon: not running on this store"), out
    assert "sources (times in UTC)" in out
    header = next(line for line in lines if line.startswith("name "))
    assert header.split() == ["name", "health", "last", "poll", "next", "stories", "last", "error"], header
    broken = next(line for line in lines if line.startswith("broken "))
    assert "HTTP 500" in broken and "(2x)" in broken, broken
    column = header.index("next")
    rows = [line for line in lines if line.split()[:1] in [[n] for n in SOURCES]]
    assert len(rows) == len(SOURCES) and all(line[column:].split()[0] == "-" for line in rows), \
        "no next run without a daemon"
    wide = cli("status", "--wide", "-c", str(world.config), env={"COLUMNS": ""}).stdout
    assert "schedule" in wide and "silent after" in wide and world.site.url("/500.xml") in wide
    report = json.loads(cli("status", "--json", "-c", str(world.config)).stdout)
    assert report["daemon"] == {"running": False, "pid": None, "since": None}
    assert all(s["next_run"] is None for s in report["sources"])


def test_status_says_a_daemon_runs_on_this_store_and_since_when(world, tmp_path):
    from crawler.config.model import load_config
    from crawler.run.lock import InstanceLock
    from crawler.store.database import Store

    config = _copy(world, tmp_path)
    store = Store(load_config(config).store)
    try:
        with InstanceLock(store):
            report = json.loads(newsradar("status", "--json", "-c", str(config)).stdout)
            human = newsradar("status", "-c", str(config), env={"COLUMNS": ""}).stdout
    finally:
        store.close()
    assert report["daemon"]["running"] is True and report["daemon"]["pid"] == os.getpid()
    assert report["daemon"]["since"].endswith("+00:00")
    assert human.startswith(f"daemon: running on this store (pid {os.getpid()}) since 20"), human
    assert any(s["next_run"] for s in report["sources"]), "a running daemon has next runs"


def test_status_after_run_once_shows_source_health(world):
    sources = {s["name"]: s for s in json.loads(cli("status", "--json", "-c", str(world.config)).stdout)["sources"]}
    assert all(s["last_poll"] and s["health"] == "ok" for s in sources.values()), sources
    assert sum(s["stories"] for s in sources.values()) == len(STORIES) + 1, "six stories and the syndicated copy"
    assert sources["broken"]["failures"] == 2 and "500" in sources["broken"]["last_error"]


# -- --log-format json --------------------------------------------------------------------------------------------
def test_log_format_json_writes_one_object_per_line_and_poll_lines_carry_the_poll(world):
    records = [json.loads(line) for line in world.first.stderr.splitlines() if line.strip()]  # every line parses
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    polls = {r["poll"]["source"]: r for r in records if "poll" in r}
    assert set(polls) == SOURCES
    for name, r in polls.items():
        assert {"source", "ok", "error", "new", "alerts", "ms"} <= set(r["poll"]) and isinstance(r["poll"]["ms"], int)
        assert r["logger"] == "newsradar.poll" and r["level"] == ("info" if r["poll"]["ok"] else "warning")
        assert r["message"].startswith(f"poll source={name} ")
    assert polls["broken"]["poll"]["ok"] is False and "500" in polls["broken"]["poll"]["error"]
    assert sum(r["poll"]["new"] for r in polls.values()) == len(STORIES)
    assert sum(r["poll"]["alerts"] for r in polls.values()) == DEAD + PENDING
    assert any(r["message"].startswith("pass done") for r in records)


def test_log_format_json_poll_object_has_the_status(world):
    polls = {r["poll"]["source"]: r["poll"] for r in _json_lines(world.first.stderr) if "poll" in r}
    assert polls["broken"]["status"] == "error" and polls["markets"]["status"] == "ok"


# -- items --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, count", [((), len(STORIES)), (("--limit", "2"), 2), (("--duplicates",), len(STORIES) + 1)])
def test_items_human_output_limit_and_duplicates(world, args, count):
    header, *lines = cli("items", "-c", str(world.config), *args).stdout.splitlines()
    assert header.split() == ["published", "(UTC)", "source", "title", "url", "[rules]"], header
    assert len(lines) == count, lines
    if args == ("--limit", "2"):  # newest first, in `timezone`
        assert lines[0].startswith("2025-06-14 02:00 ") and STORIES["sitemap"]["title"] in lines[0]
    shown = {key: line for key, story in STORIES.items() for line in lines if f"  {world.site.url(story['path'])}" in line}
    assert set(shown) == ({"sitemap", "mislabelled"} if count == 2 else set(STORIES)), lines
    assert all(STORIES[key]["title"] in line for key, line in shown.items()), "each line has the title and the url"
    copy = [line for line in lines if "/syndicated/iflytek.html" in line]
    assert len(copy) == (1 if "--duplicates" in args else 0)


# -- extract ------------------------------------------------------------------------------------------------------
def test_extract_many_inputs_in_order_with_errors_gzip_and_human_output(tmp_path):
    a, b, missing = tmp_path / "a.html", tmp_path / "b.html.gz", tmp_path / "missing.html"
    a.write_text(article("Alpha title", ["Alpha body text that is long enough to be the main text."] * 3,
                         "2025-06-11T09:30:00+08:00", lang="en"))
    b.write_bytes(gzip.compress(BANK.encode()))
    rows = _json_lines(newsradar("extract", "--json", str(b), str(missing), str(a)).stdout)
    assert [r["input"] for r in rows] == [str(b), str(missing), str(a)]
    assert rows[0]["title"] == "Bank profit rises" and "quarterly profit" in rows[0]["text"]
    assert "error" in rows[1] and "title" not in rows[1]
    assert rows[2]["title"] == "Alpha title" and rows[2]["published"].startswith("2025-06-11")
    human = newsradar("extract", str(a), str(missing)).stdout
    assert human.index(f"== {a}") < human.index(f"== {missing}")
    assert "   title: Alpha title" in human and "   error: " in human and "text (" in human
    only_missing = newsradar("extract", str(missing), check=False)
    assert only_missing.returncode == 1, "every input failed"


# -- the daemon's metrics -----------------------------------------------------------------------------------------
def _scrape(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.read().decode()
    except OSError:
        return ""


def _wait_for(predicate, daemon: subprocess.Popen, log: Path, timeout: float = 45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and daemon.poll() is None:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"daemon {'exited' if daemon.poll() is not None else 'timed out'}:\n{log.read_text()[-3000:]}")


def test_daemon_serves_prometheus_metrics_and_status_shows_what_it_polled(site, tmp_path):
    site.add("/n/1.html", article("iFlytek story", ["iFlytek said a paragraph long enough to be main text."] * 3,
                                  "2025-06-11T09:30:00+08:00", lang="en"))
    site.add("/markets/", '<html><body><a class="headline" href="/n/1.html">x</a></body></html>')
    site.add("/500.xml", "oops", "text/plain", status=500)
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
max_age: 3650d
fetch: {{delay: 0s, timeout: 5s}}
daemon: {{shutdown_grace: 10s}}
metrics: {{port: {port}}}
sources:
  - {{name: markets, type: html, url: "{site.url('/markets/')}", links: a.headline, every: 1s, jitter: 0s,
      allow_private: true}}
  - {{name: broken, type: feed, url: "{site.url('/500.xml')}", every: 1s, jitter: 0s, allow_private: true}}
""")
    log = tmp_path / "daemon.log"
    with log.open("w") as err:
        d = subprocess.Popen([sys.executable, "-m", "crawler", "run", "-c", str(config)], stdout=subprocess.DEVNULL,
                             stderr=err, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        me = f'worker="{socket.gethostname()}"'  # a single instance's series carry its host name
        wanted = (f'newsradar_polls_total{{source="markets",status="ok",{me}}}',
                  f'newsradar_polls_total{{source="broken",status="error",{me}}}',
                  f'newsradar_outbox_alerts{{status="pending",{me}}}')
        text = _wait_for(lambda: (t := _scrape(f"http://127.0.0.1:{port}/metrics")) and all(w in t for w in wanted) and t,
                         d, log)
        assert f'newsradar_stories_total{{source="markets",{me}}} 1.0' in text
        assert f'newsradar_poll_seconds_bucket{{le="0.1",source="markets",{me}}}' in text
        d.send_signal(signal.SIGTERM)
        assert d.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if d.poll() is None:
            d.kill()
            d.wait(10)
    sources = {s["name"]: s for s in json.loads(cli("status", "--json", "-c", str(config)).stdout)["sources"]}
    markets, broken = sources["markets"], sources["broken"]
    assert markets["health"] == "ok" and markets["last_poll"] and markets["stories"] == 1 and not markets["last_error"]
    assert broken["failures"] >= 1 and "500" in broken["last_error"] and broken["stories"] == 0
    assert broken["last_success"] is None and broken["last_poll"] and broken["schedule"] == "every 1s"
    out = cli("status", "-c", str(config), env={"COLUMNS": "250"}).stdout
    assert "sources" in out and "rules" in out and "last error" in out
    assert "500" in next(line for line in out.splitlines() if "broken" in line), out


# -- --version, check ---------------------------------------------------------------------------------------------
def test_version():
    assert newsradar("--version").stdout == f"newsradar {VERSION}\n"


def test_the_cli_module_runs_as_the_command():
    proc = subprocess.run([sys.executable, "-m", "crawler.cli.main", "--version"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.stdout == f"newsradar {VERSION}\n", proc.stderr


HEAVY = {"scrapy", "twisted", "sqlalchemy", "apprise", "jinja2", "matplotlib", "trafilatura", "playwright",
         "prometheus_client"}


def _imported(*args: str, cwd: Path | None = None) -> set[str]:
    """The top-level packages a command imports, from Python's import log (`-X importtime`): names, not times."""
    proc = newsradar(*args, cwd=cwd, env={"PYTHONPROFILEIMPORTTIME": "1"})
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


def test_light_commands_import_only_what_they_use(tmp_path):
    """Issue 10: imports sit at module tops except where a lazy one keeps a light command from loading what it
    never uses. The version alone no longer brings Scrapy (crawler.fetch.identity)."""
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - name: s\n    type: feed\n    url: https://feeds.example.org/rss\n"
                      "rules:\n  - name: r\n    any: [iFlytek]\n    notify: [out]\n"
                      "notifiers:\n  out:\n    url: console://\n")
    for args in (["--help"], ["--version"], ["schema"]):
        assert "crawler" in _imported(*args), "the import log is read"
        assert not _imported(*args) & (HEAVY | {"cssselect", "apscheduler", "regex"}), args
    checked = _imported("check", "-c", str(config))
    assert {"apprise", "jinja2"} <= checked, "check renders templates and parses notifier URLs"
    assert not checked & {"scrapy", "twisted", "sqlalchemy", "matplotlib", "trafilatura", "playwright"}
    tested = _imported("rules", "test", "iFlytek rose", "-c", str(config))
    assert not tested & {"scrapy", "twisted", "sqlalchemy", "matplotlib", "trafilatura"}
    stored = _imported("items", "-c", str(config), cwd=tmp_path)
    assert "sqlalchemy" in stored and not stored & {"scrapy", "twisted", "matplotlib", "trafilatura"}


@pytest.mark.parametrize("env, code", [({}, 2), ({"NR_TEST_FEED_HOST": "feeds.example.org"}, 0)])
def test_check_names_an_unset_environment_variable(tmp_path, env, code):
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - name: s\n    type: feed\n    url: https://${NR_TEST_FEED_HOST}/rss\n")
    proc = cli("check", "-c", str(config), env=env, check=False)
    assert proc.returncode == code, proc.stderr
    if code:
        assert "config.yaml:4: environment variable NR_TEST_FEED_HOST is not set" in proc.stderr
    else:
        assert "config.yaml: ok (1 sources, 0 rules, 0 notifiers)" in proc.stdout
