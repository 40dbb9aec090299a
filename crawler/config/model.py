"""config.yaml: declared once, validated fully, frozen.

`load_config(path)` returns a frozen `Config` or raises `ConfigError`, whose `problems` are lines of the form
`config.yaml:LINE: message`. Every key is declared once, with its default and its README meaning (`description`),
in the models: `Config` here, its sections in `crawler.config.sections` (fetch, metrics, web, health, daemon),
`crawler.config.source` (a source) and `crawler.config.alerting` (a rule, a notifier); `crawler.config.reference`
makes the README's config tables and the JSON Schema from them. An unknown or misspelled key fails with a hint
("unknown key 'evry' in sources[0]; did you mean 'every'?"). Beyond the schema, the whole file is checked before
it is used (and before a running daemon switches to it): `crawler.config.checks`.

`${VAR}` in any string expands from the environment; an unset variable is an error naming it, unless a
default is given: `${VAR:-default}`. A relative SQLite
path in `store` is relative to the config file, not to the working directory.

This module also exports what other modules import from it: the models, `parse_duration`, `compile_rules` and
`warnings_of`.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator

from crawler.config import yamlmap
from crawler.config.alerting import Notifier, Rule
from crawler.config.checks import compile_rules, cross_check, resolve_store, warnings_of
from crawler.config.fields import Duration, StrictModel, TermList, check_zone, parse_duration, parse_size
from crawler.config.sections import Cluster, Daemon, Fetch, Health, Metrics, Threads, Web
from crawler.config.source import Source
from crawler.config.source_types import PRESET_ZONES

__all__ = [
    "Config", "ConfigError", "Daemon", "Fetch", "Health", "Metrics", "Notifier", "Rule", "Source", "Threads", "Web",
    "check_file_mode", "compile_rules", "load_config", "parse_config", "parse_duration", "parse_size", "warnings_of",
]

_BELOW = {"default_text": ""}  # a list or mapping of sections: its table follows the top one in the README


class Config(StrictModel):
    store: str = Field("sqlite:///newsradar.db",
                       description="SQLAlchemy URL. A relative SQLite path is relative to the config file. PostgreSQL: "
                                   "`postgresql+psycopg://user@host/db` (`pip install 'newsradar[postgres]'`)")
    store_busy_timeout: Duration = Field(
        timedelta(seconds=10), description="SQLite: how long a write waits for another writer's lock before it fails "
                                           "(the poll is then an error and is fetched again)")
    timezone: str = Field("UTC", description="IANA zone for alert times, quiet hours, digest windows and cron "
                                             "schedules, and for page and feed times written without an offset "
                                             "(unless the source sets its own)")
    max_age: Duration = Field(timedelta(days=2), description="stories older than this are stored but never alerted")
    dedupe_window: Duration = Field(timedelta(days=7), description="how far back a syndicated copy is looked for")
    templates: str | None = Field(None, description="a folder (relative to the config) searched for template "
                                                    "overrides before the shipped ones")
    fetch: Fetch = Field(Fetch(), description="how pages are fetched")
    sources: tuple[Source, ...] = Field((), description="the sources to poll: see **Sources** below",
                                        json_schema_extra=_BELOW)
    watchlists: dict[str, TermList] = Field({}, description="a list of terms; rules use it as `\"@NAME\"`",
                                            json_schema_extra=_BELOW)
    rules: tuple[Rule, ...] = Field((), description="what to alert on: see **Rules** below", json_schema_extra=_BELOW)
    notifiers: dict[str, Notifier] = Field({}, description="where alerts go, by name: see **Notifiers** below",
                                           json_schema_extra=_BELOW)
    ops: str | None = Field(None, description="the notifier that hears of failing, silent and recovered sources, and "
                                              "of dead alerts")
    metrics: Metrics | None = Field(None, description="Prometheus metrics; off without this section")
    web: Web | None = Field(None, description="the daemon's read-only dashboard; off without this section")
    health: Health = Field(Health(), description="when a source counts as failing or silent")
    daemon: Daemon = Field(Daemon(), description="the daemon's own timings")
    threads: Threads = Field(Threads(), description="event threads across outlets (see *Event threads*)")
    cluster: Cluster | None = Field(None, description="several workers on one PostgreSQL store (see *Running "
                                                      "several workers*); off without this section")
    path: Path | None = Field(None, exclude=True, description="where the file was read from; set by load_config, "
                                                              "not a key of the file")

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
        return check_zone(v)
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
    problems = [f"{name}:{yamlmap.line_of(lines, loc) or 1}: {msg}" for loc, msg in cross_check(config)]
    if problems:
        raise ConfigError(problems)
    return config.model_copy(update={"store": resolve_store(config.store, path)})


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
        known = [info.alias or f for f, info in (model.model_fields if model else {}).items() if f != "path"]
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; known keys: {', '.join(known)}" if known else "")
        return f"unknown key '{key}' in {_where(parent)}{hint}"
    if error["type"] == "missing":
        return f"missing key '{loc[-1]}' in {_where(loc[:-1])}"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{_where(loc)}: {msg}"


