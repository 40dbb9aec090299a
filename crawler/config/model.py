"""config.yaml: declared once, validated fully, frozen.

`load_config(path)` returns a frozen `Config` or raises `ConfigError`, whose `problems` are lines of the form
`config.yaml:LINE: message`. Every key is declared in the models below; an unknown or misspelled key fails with a
hint ("unknown key 'evry' in sources[0]; did you mean 'every'?"). Beyond the schema, the whole file is checked
before it is used (and before a running daemon switches to it): unique source names, CSS selectors, rules and
watchlists (compiled), notifier names that rules route to, apprise URLs and templates (test-rendered).

`${VAR}` in any string expands from the environment; an unset variable is an error naming it, unless a
default is given: `${VAR:-default}`. A relative SQLite
path in `store` is relative to the config file, not to the working directory.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from crawler.config import yamlmap
from crawler.config.rendering import check_rendering
from crawler.config.source_types import JSON_FIELDS, PRESET_ZONES, PRESETS, Tickers, check_source

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SIZES = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.I)


def parse_duration(value: Any) -> timedelta:
    """'30s', '5m', '1h', '2d', '1w' or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a duration (use e.g. 30s, 5m, 1h, 2d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a size (use e.g. 10MB, 512KB)")
    return int(float(m.group(1)) * _SIZES[(m.group(2) or "b").lower()])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Terms = Annotated[tuple[str, ...], BeforeValidator(lambda v: (v,) if isinstance(v, str) else v)]


def _check_zone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{v}' (use an IANA name such as Asia/Shanghai)") from None
    return v


def _term_list(value: Any) -> Any:
    """A watchlist or a rule's any/all/none is a YAML list: `iflytek: iFlytek, 科大讯飞` would be ONE term that
    never matches, so a string is an error that shows the list it probably meant."""
    if isinstance(value, str):
        terms = [t.strip() for t in re.split(r"[,，、;]", value) if t.strip()]
        shown = ", ".join(f'"{t}"' if re.search(r"[:#,\[\]{}]|^[@&*!|>%]", t) else t for t in terms)
        raise ValueError(f"needs a list of terms, not the string '{value}'; write [{shown}]")
    return value


TermList = Annotated[tuple[str, ...], BeforeValidator(_term_list)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fetch(_Model):
    timeout: Duration = timedelta(seconds=30)
    max_bytes: Size = 10 * 1024 * 1024
    concurrency: int = Field(16, ge=1, le=256)
    per_domain: int = Field(2, ge=1, le=32)
    delay: Duration = timedelta(seconds=0.25)
    retries: int = Field(1, ge=0, le=5)
    robots: bool = True
    user_agent: str | None = None
    poll_timeout: Duration = timedelta(minutes=10)
    parallel_sources: int = Field(8, ge=1, le=128)
    # rendering sources (issue 16; crawler.config.rendering, crawler.fetch.render): the one browser of a process
    render_browser: str | None = None  # the Chromium executable; found on PATH when absent
    render_concurrency: int = Field(2, ge=1, le=16)  # pages open at once, across all polls of the process
    render_restart_after: int = Field(500, ge=1)  # rendered pages after which the browser is started afresh


class Source(_Model):
    name: str = Field(min_length=1)
    type: Literal["feed", "html", "sitemap", "json", "cninfo", "szse", "sse", "hkex", "edgar"]
    url: str | None = None  # required, except for the presets (their endpoint under base_url)
    every: Duration = timedelta(minutes=5)
    cron: str | None = None
    jitter: Duration | None = None
    links: str | None = None
    follow: bool | None = None  # feeds: true; json: false (see spider_args)
    max_age: Duration | None = None
    enabled: bool = True
    # Opt-in to fetch loopback/private/link-local addresses (intranet feeds); refused otherwise (issue 9).
    allow_private: bool = False
    # IANA zone of the times the source writes without an offset; the global `timezone` when absent.
    timezone: str | None = None
    # type: html: render the listing page (true) or the listing and its articles ("all") in Chromium
    render: bool | Literal["all"] = False
    wait_for: str | None = None  # CSS selector a rendered page must show before it is read (required with render)
    render_timeout: Duration = timedelta(seconds=20)
    # type: json
    method: Literal["GET", "POST"] = "GET"
    form: dict[str, Any] | None = None
    body: Any = None
    headers: dict[str, str] = {}
    items: str | None = None
    fields: dict[str, str] = {}
    time_format: str = "auto"
    # presets (cninfo, szse, sse, hkex, edgar)
    base_url: str | None = None
    tickers: Tickers = ()
    categories: Terms = ()
    contact: str | None = None
    max_pages: int = Field(3, ge=1, le=50)

    @field_validator("url", "base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://", v, re.I):
            raise ValueError(f"'{v}' is not an http(s) URL")
        return v

    @field_validator("timezone")
    @classmethod
    def _source_zone(cls, v: str | None) -> str | None:
        return None if v is None else _check_zone(v)

    @field_validator("fields")
    @classmethod
    def _field_names(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = [k for k in v if k not in JSON_FIELDS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], JSON_FIELDS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known fields: {', '.join(JSON_FIELDS)}"
            raise ValueError(f"unknown field '{unknown[0]}'{hint}")
        return v

    @model_validator(mode="after")
    def _preset_url(self) -> Source:
        if self.type in PRESETS and self.url is None:
            host, path = PRESETS[self.type]
            object.__setattr__(self, "url", (self.base_url or host).rstrip("/") + path)
        return self


class Rule(_Model):
    name: str = Field(min_length=1)
    any: TermList = ()
    all: TermList = ()
    none: TermList = ()
    tickers: Tickers = ()
    categories: Terms = ()
    sources: Terms = ()
    notify: Terms = ()
    urgent: bool = False


class Notifier(_Model):
    url: Terms
    template: str | None = None
    digest: Duration | None = None
    quiet: str | None = None
    max_per_hour: int | None = Field(None, ge=1)
    backlog: int = Field(10, ge=1)
    max_attempts: int = Field(8, ge=1)
    max_age: Duration = timedelta(days=1)
    timeout: Duration = timedelta(seconds=30)


class Metrics(_Model):
    port: int = Field(ge=1, le=65535)
    host: str = "127.0.0.1"


class Web(_Model):
    """The daemon's read-only dashboard (crawler.web): /, /report, /stories, /healthz, /metrics."""

    port: int = Field(ge=1, le=65535)
    host: str = "127.0.0.1"
    token: str | None = Field(None, min_length=8)  # required as `Authorization: Bearer TOKEN` when set


class Health(_Model):
    failing_after: int = Field(3, ge=1)
    silent_after: Duration | None = None


class Daemon(_Model):
    reload_check: Duration = timedelta(seconds=1)
    outbox_every: Duration = timedelta(seconds=5)
    shutdown_grace: Duration = timedelta(seconds=30)
    worker_idle: Duration = timedelta(minutes=5)  # extraction workers idle this long are stopped


class Config(_Model):
    store: str = "sqlite:///newsradar.db"
    store_busy_timeout: Duration = timedelta(seconds=10)
    timezone: str = "UTC"
    max_age: Duration = timedelta(days=2)
    dedupe_window: Duration = timedelta(days=7)
    templates: str | None = None
    fetch: Fetch = Fetch()
    sources: tuple[Source, ...] = ()
    watchlists: dict[str, TermList] = {}
    rules: tuple[Rule, ...] = ()
    notifiers: dict[str, Notifier] = {}
    ops: str | None = None
    metrics: Metrics | None = None
    web: Web | None = None
    health: Health = Health()
    daemon: Daemon = Daemon()
    # Where the file was read from; set by load_config, not a key of the file.
    path: Path | None = Field(None, exclude=True)

    @field_validator("store")
    @classmethod
    def _store_url(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z][\w+.-]*://", v):
            raise ValueError(f"'{v}' is not a database URL; did you mean 'sqlite:///{v}'? "
                             f"(or postgresql+psycopg://user@host/db)")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return _check_zone(v)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)

    def max_age_for(self, source_name: str) -> timedelta:
        """A source's freshness limit: its own `max_age`, else the global one (also for sources since removed)."""
        source = next((s for s in self.sources if s.name == source_name), None)
        return (source.max_age if source else None) or self.max_age

    def timezone_for(self, source_name: str) -> str:
        """The zone a source's naive times are read in: its own `timezone`, else its exchange's (presets), else the
        global one."""
        source = next((s for s in self.sources if s.name == source_name), None)
        if source is None:
            return self.timezone
        return source.timezone or PRESET_ZONES.get(source.type) or self.timezone

    def template_dirs(self) -> tuple[Path, ...]:
        if not self.templates:
            return ()
        base = self.path.parent if self.path else Path.cwd()
        return (base / self.templates,)


class ConfigError(ValueError):
    """An invalid config. `problems` are ready-to-print lines: 'config.yaml:12: unknown key ...'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_config(path: str | Path, env: dict[str, str] | None = None, *, allow_insecure: bool = False) -> Config:
    """Read, expand and validate a config file. A file that group or others can write is refused unless
    `allow_insecure` (it holds notifier credentials and decides what is fetched: whoever can edit it can read
    the credentials out or point newsradar anywhere)."""
    path = Path(path)
    if not allow_insecure:
        check_file_mode(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read config: {exc}"]) from None
    return parse_config(text, path, env)


def check_file_mode(path: Path) -> None:
    """ConfigError if the file is writable by group or others (as urlwatch refuses); POSIX only."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # reading it reports the problem
    if os.name == "posix" and mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError([
            f"{path}: refusing a config that group or others can write (mode {stat.S_IMODE(mode):04o}): it holds "
            f"notifier credentials and decides what is fetched. Fix it with `chmod go-w {path}`, or override with "
            f"--allow-insecure-config or NEWSRADAR_ALLOW_INSECURE_CONFIG=1"])


def parse_config(text: str, path: Path, env: dict[str, str] | None = None) -> Config:
    name = str(path)  # as the user gave it: `-c /abs/path/x.yaml` errors name /abs/path/x.yaml
    try:
        data, lines = yamlmap.load(text, env)
    except yamlmap.YamlProblem as exc:
        raise ConfigError([f"{name}:{line or 1}: {msg}" for line, msg in exc.problems]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{name}:1: the config must be a mapping of keys (store, sources, rules, ...)"])
    try:
        config = Config.model_validate({**data, "path": path.resolve()})
    except ValidationError as exc:
        problems = [f"{name}:{yamlmap.line_of(lines, e['loc']) or 1}: {_describe(e)}" for e in exc.errors()]
        raise ConfigError(problems) from None
    problems = [f"{name}:{yamlmap.line_of(lines, loc) or 1}: {msg}" for loc, msg in _cross_check(config)]
    if problems:
        raise ConfigError(problems)
    return config.model_copy(update={"store": _resolve_store(config.store, path)})


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class that holds the last key of `loc` (to suggest its field names)."""
    model: Any = Config
    mapping_key = False  # the part after a `dict[str, Model]` field is a name of the user's, not a field
    for part in loc[:-1]:
        if isinstance(part, int) or mapping_key:
            mapping_key = False
            continue
        if model is None or part not in getattr(model, "model_fields", {}):
            return None
        ann = model.model_fields[part].annotation
        mapping_key = getattr(ann, "__origin__", None) is dict
        model = next((t for t in _types_in(ann) if isinstance(t, type) and issubclass(t, BaseModel)), None)
    return model


def _types_in(ann: Any) -> list[Any]:
    args = getattr(ann, "__args__", None)
    if not args:
        return [ann]
    return [t for a in args for t in _types_in(a)]


def _describe(error: dict) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        key, parent = loc[-1], loc[:-1]
        model = _model_at(loc)
        known = [f for f in (model.model_fields if model else {}) if f != "path"]
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; known keys: {', '.join(known)}" if known else "")
        return f"unknown key '{key}' in {_where(parent)}{hint}"
    if error["type"] == "missing":
        return f"missing key '{loc[-1]}' in {_where(loc[:-1])}"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{_where(loc)}: {msg}"


def _cross_check(config: Config) -> list[tuple[tuple, str]]:
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
                from cssselect import GenericTranslator, SelectorError

                GenericTranslator().css_to_xpath(src.links)
            except SelectorError as exc:
                out.append((("sources", i, "links"), f"invalid CSS selector '{src.links}': {exc}"))
        if src.cron:
            try:
                from apscheduler.triggers.cron import CronTrigger

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
    folder = _sqlite_folder(_resolve_store(config.store, config.path or Path("config.yaml")))
    if folder is not None and not folder.is_dir():
        out.append((("store",), f"store: the folder {folder} does not exist (newsradar creates the database file, "
                                f"not its folder)"))
    out.extend(check_rendering(config))
    if config.ops and config.ops not in config.notifiers:
        out.append((("ops",), f"ops names unknown notifier '{config.ops}'"))
    out.extend(_check_alerts(config))
    return out


def _check_alerts(config: Config) -> list[tuple[tuple, str]]:
    """Rules compile, notifier URLs parse, templates render: a broken one is a config error, not a 3 a.m. failure."""
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
    from alerts.delivery.policy import parse_quiet

    renderer = Renderer(config.timezone, config.template_dirs())
    for name, notifier in config.notifiers.items():
        if notifier.quiet:
            try:
                parse_quiet(notifier.quiet)
            except ValueError as exc:
                out.append((("notifiers", name, "quiet"), f"notifier '{name}': {exc}"))
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
    from alerts.rules.matcher import RuleSet, RuleSpec

    specs = [RuleSpec(r.name, r.any, r.all, r.none, r.notify, r.urgent, r.tickers, r.categories, r.sources)
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


def _resolve_store(url: str, config_path: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        rel = url[len(prefix):]
        if rel:
            return prefix + str((config_path.resolve().parent / rel))
    return url
