"""`newsradar schema`: the config's JSON Schema and reference tables, generated from the models (issue 10); the
README's tables are that output, and every key has a description."""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic import BaseModel, Field

from crawler.cli.main import main
from crawler.config.model import Config, Daemon, Fetch, Health, Metrics, Notifier, Rule, Source, Web
from crawler.config.reference import MARKER, default_text, fill_readme, fill_readme_file, rows, sections, table
from tests.conftest import ROOT


def test_schema_prints_a_json_schema_of_every_key(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "newsradar config.yaml" and schema["additionalProperties"] is False
    assert set(Config.model_fields) - {"path"} <= set(schema["properties"])
    source = schema["$defs"]["Source"]["properties"]
    assert {"name", "type", "url", "every", "timezone", "allow_private", "render", "wait_for"} <= set(source)


def test_markdown_tables_come_from_the_models(capsys):
    assert main(["schema", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| `fetch.timeout` | `30s` |" in out and "| `name` | required |" in out
    keys = {k for k, _, _ in rows(Config, flatten=True)}
    assert {"`store`", "`fetch.parallel_sources`", "`sources[]`", "`notifiers.NAME`", "`watchlists.NAME`"} <= keys
    assert set(sections()) >= {"top", "sources", "rules", "notifiers"}


def test_defaults_read_as_a_person_writes_them():
    fields = Config.model_fields
    assert default_text("store", fields["store"]) == "`sqlite:///newsradar.db`"
    assert default_text("dedupe_window", fields["dedupe_window"]) == "`1w`"
    assert default_text("templates", fields["templates"]) == "none"


README_PATH = ROOT / "README.md"
REGENERATE = "python -m crawler.config.reference README.md"


def _types_in(annotation: Any) -> list[Any]:
    return [annotation, *(t for a in get_args(annotation) for t in _types_in(a))]


def _models(model: type[BaseModel] = Config, seen: set | None = None) -> set[type[BaseModel]]:
    """Config and every model it is made of (sections, list items, mapping values), however deeply nested."""
    seen = set() if seen is None else seen
    seen.add(model)
    for info in model.model_fields.values():
        for t in _types_in(info.annotation):
            if isinstance(t, type) and issubclass(t, BaseModel) and t not in seen:
                _models(t, seen)
    return seen


def test_the_readme_config_tables_are_the_models():
    text = README_PATH.read_text(encoding="utf-8")
    assert set(sections()) == {m.group(2) for m in MARKER.finditer(text)}, \
        f"README.md needs a <!-- config:NAME --> ... <!-- /config:NAME --> block for each of {sorted(sections())}"
    assert fill_readme(text) == text, \
        f"README.md's config tables differ from crawler/config's models; regenerate them with `{REGENERATE}`"


def test_every_key_of_every_config_model_has_a_description():
    models = _models()
    assert {Fetch, Source, Rule, Notifier, Metrics, Web, Health, Daemon} <= models
    missing = [f"{m.__name__}.{name}" for m in models for name, info in m.model_fields.items()
               if not (info.description or "").strip()]
    assert not missing, f"config keys without a description (README meaning): {missing}"


def test_defaults_decided_at_run_time_read_as_the_readme_says():
    top = {k: d for k, d, _ in rows(Config, flatten=True)}
    assert top["`health.silent_after`"] == "20 × `every`, at least 1 day"
    assert top["`fetch.user_agent`"] == "`newsradar/VERSION (+URL)`"
    assert top["`metrics.port`"] == "off" and top["`sources[]`"] == ""
    source = {k: d for k, d, _ in rows(Source)}
    assert source["`jitter`"] == "10 % of `every`, at most 30 s" and source["`follow`"] == "`true` (`json`: `false`)"
    # a source's own mappings are one plain row each; only the top table's mappings are named by the user
    assert "`headers`" in source and "`fields`" in source and "`watchlists.NAME`" in top


def test_a_pipe_in_a_meaning_does_not_split_its_cell():
    class Odd(BaseModel):
        mode: str = Field("a", description="`a | b`")

    assert "| `mode` | `a` | `a \\| b` |" in table(Odd)


def test_the_regeneration_script_rewrites_only_the_marked_blocks(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nkept\n\n<!-- config:rules -->\nstale\n<!-- /config:rules -->\n\nkept too\n",
                      encoding="utf-8")
    assert fill_readme_file(readme) is True
    text = readme.read_text(encoding="utf-8")
    assert "stale" not in text and "| `urgent` | `false` |" in text
    assert text.startswith("# x\n\nkept\n\n") and text.endswith("<!-- /config:rules -->\n\nkept too\n")
    assert fill_readme_file(readme) is False
