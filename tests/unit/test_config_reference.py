"""`newsradar schema`: the config's JSON Schema and reference tables, generated from the models (issue 10)."""

from __future__ import annotations

import json

from crawler.cli.main import main
from crawler.config.model import Config
from crawler.config.reference import default_text, rows, sections


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
