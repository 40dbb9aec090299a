"""The checks of a config that span keys, run on a schema-valid `Config` before it is used (and before a running
daemon switches to it): unique source names, each source type's needs, CSS selectors, cron lines, rules and
watchlists (compiled), the sources and notifiers rules name, the SQLite folder, rendering, apprise URLs and
templates (test-rendered). `cross_check` returns `(loc, message)` pairs; `crawler.config.model` turns each loc
into a `config.yaml:LINE:` prefix.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from alerts.delivery.policy import parse_quiet
from crawler.config.rendering import check_rendering
from crawler.config.source_types import check_source

if TYPE_CHECKING:  # the model module imports this one
    from crawler.config.model import Config


def cross_check(config: Config) -> list[tuple[tuple, str]]:
    """Checks that span keys. Returns [(loc, message)]; loc finds the line."""
    out: list[tuple[tuple, str]] = []
    seen: set[str] = set()
    for i, src in enumerate(config.sources):
        if src.name in seen:
            out.append((("sources", i, "name"), f"duplicate source name '{src.name}'"))
        seen.add(src.name)
        if src.type == "html" and not src.links:
            out.append((("sources", i), f"source '{src.name}' of type html needs 'links' (a CSS selector)"))
        if src.url is None:
            out.append((("sources", i), f"missing key 'url' in sources[{i}]"))
        out.extend((("sources", i, *loc), f"source '{src.name}': {msg}") for loc, msg in check_source(src))
        if src.links:
            try:
                # lazy, as CronTrigger below: `schema` and `--help` import this module but check no config;
                # cssselect and APScheduler's cron, measured: 5-10 ms CPU on `newsradar schema`/`--help`
                from cssselect import GenericTranslator, SelectorError

                GenericTranslator().css_to_xpath(src.links)
            except SelectorError as exc:
                out.append((("sources", i, "links"), f"invalid CSS selector '{src.links}': {exc}"))
        if src.cron:
            try:
                from apscheduler.triggers.cron import CronTrigger  # lazy (see above)

                CronTrigger.from_crontab(src.cron, timezone=config.timezone)
            except ValueError as exc:
                out.append((("sources", i, "cron"), f"invalid cron '{src.cron}': {exc}"))
    for i, rule in enumerate(config.rules):
        for j, name in enumerate(rule.sources):
            if name not in seen:
                close = difflib.get_close_matches(name, list(seen), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                out.append((("rules", i, "sources", j), f"rule '{rule.name}' names unknown source '{name}'{hint}"))
        for j, target in enumerate(rule.notify):
            if target not in config.notifiers:
                close = difflib.get_close_matches(target, list(config.notifiers), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                out.append((("rules", i, "notify", j), f"rule '{rule.name}' notifies unknown notifier '{target}'{hint}"))
    folder = _sqlite_folder(resolve_store(config.store, config.path or Path("config.yaml")))
    if folder is not None and not folder.is_dir():
        out.append((("store",), f"store: the folder {folder} does not exist (newsradar creates the database file, "
                                f"not its folder)"))
    out.extend(check_rendering(config))
    if config.cluster is not None:
        out.extend(_check_cluster(config))
    if config.ops and config.ops not in config.notifiers:
        out.append((("ops",), f"ops names unknown notifier '{config.ops}'"))
    out.extend(_check_alerts(config))
    return out


def _check_cluster(config: Config) -> list[tuple[tuple, str]]:
    out: list[tuple[tuple, str]] = []
    if not config.store.startswith("postgresql"):
        scheme = config.store.split(":", 1)[0]
        out.append((("cluster",), f"cluster: several workers need a PostgreSQL store (the store is {scheme}); "
                                  f"a SQLite store stays one newsradar per store: remove `cluster:` or set "
                                  f"store: postgresql+psycopg://user@host/db"))
    if config.cluster.lease < 2 * config.cluster.claim_every or config.cluster.lease.total_seconds() < 1:
        out.append((("cluster", "lease"), f"cluster.lease ({config.cluster.lease.total_seconds():g}s) must be at "
                                          f"least 1s and twice claim_every"))
    return out


def _check_alerts(config: Config) -> list[tuple[tuple, str]]:
    """Rules compile, notifier URLs parse, templates render: a broken one is a config error, not a 3 a.m. failure."""
    # lazy: `newsradar schema` and `--help` import this module but check no config; the notifiers and renderer
    # (apprise, requests, Jinja2), measured: ~300 ms CPU on `newsradar --help`, the rules (regex, ahocorasick)
    # 10-20 ms
    from alerts.notify.deliver import check_url
    from alerts.render.renderer import Renderer, TemplateProblem
    from alerts.rules.matcher import RuleError

    out: list[tuple[tuple, str]] = []
    try:
        compile_rules(config)
    except RuleError as exc:
        for index, key, message in exc.problems:
            loc = ("rules", index, *_key_path(key)) if index >= 0 else ("watchlists",)
            out.append((loc, message))
    renderer = Renderer(config.timezone, config.template_dirs())
    for name, notifier in config.notifiers.items():
        if notifier.quiet:
            try:
                parse_quiet(notifier.quiet)
            except ValueError as exc:
                out.append((("notifiers", name, "quiet"), f"notifier '{name}': {exc}"))
        for wl in notifier.report.watchlists if notifier.report else ():
            if wl not in config.watchlists:
                out.append((("notifiers", name, "report", "watchlists"),
                            f"notifier '{name}': report names unknown watchlist '{wl}'"))
        for j, url in enumerate(notifier.url):
            problem = check_url(url)
            if problem:
                out.append((("notifiers", name, "url"), f"notifier '{name}': {problem}"))
                continue
            try:
                renderer.check(Renderer.channel_for(url), notifier.template)
            except TemplateProblem as exc:
                out.append((("notifiers", name, "template"), f"notifier '{name}': {exc}"))
    return out


def _key_path(key: str) -> tuple:
    """'all[2]' -> ('all', 2), so the error points at the term's own line."""
    m = re.match(r"^(\w+)(?:\[(\d+)\])?$", key)
    if not m:
        return ()
    return (m.group(1),) + ((int(m.group(2)),) if m.group(2) else ())


def compile_rules(config: Config):
    """The config's rules and watchlists as one compiled, pure RuleSet."""
    from alerts.rules.matcher import RuleSet, RuleSpec  # lazy: 10-20 ms on schema (see _check_alerts)

    specs = [RuleSpec(r.name, r.any, r.all, r.none, r.notify, r.urgent, r.tickers, r.categories, r.sources,
                      in_=r.in_ or (), min_mentions=r.min_mentions)
             for r in config.rules]
    return RuleSet.compile(specs, dict(config.watchlists))


def _sqlite_folder(url: str) -> Path | None:
    """The folder a SQLite store's file goes in (None for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite:///") or url.split("?")[0] in ("sqlite:///", "sqlite:///:memory:"):
        return None
    return Path(url[len("sqlite:///"):].split("?")[0]).parent


def warnings_of(config: Config) -> list[str]:
    """What is valid but cannot be what the user wants (`check` prints them; the daemon logs them)."""
    out = []
    if not [s for s in config.sources if s.enabled]:
        out.append("no sources (or none enabled): `run` would poll nothing")
    if not config.rules:
        out.append("no rules: stories are stored but nothing is ever alerted")
    return out


def resolve_store(url: str, config_path: Path) -> str:
    """`url` with a relative SQLite path made relative to the config file (not to the working directory)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        rel = url[len(prefix):]
        if rel:
            return prefix + str((config_path.resolve().parent / rel))
    return url
