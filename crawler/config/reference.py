"""The config reference, generated from the models: README tables and a JSON Schema.

Every key is declared once, in the models `crawler.config.model.Config` is made of, with its default and a
`description`. This module turns those declarations into what people read: the Markdown tables of README's
"Config reference" (between `<!-- config:NAME -->` markers, checked by a test so the README cannot drift from the
models; `python -m crawler.config.reference README.md` rewrites them) and the JSON Schema that `newsradar schema`
prints for editors (`# yaml-language-server: $schema=...`).

A field whose default is computed at run time (e.g. `health.silent_after`) says so with
`json_schema_extra={"default_text": "..."}`; a required field has no default and reads "required".
"""

from __future__ import annotations

import json
import re
import sys
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from crawler.config.model import Config

# A generated block of the README: `<!-- config:NAME -->`, the table, `<!-- /config:NAME -->` (NAME from sections()).
MARKER = re.compile(r"(<!-- config:(\w+) -->\n)(.*?)(<!-- /config:\2 -->)", re.S)


def _duration(td: timedelta) -> str:
    seconds = td.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _size(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def default_text(name: str, info: Any) -> str:
    extra = info.json_schema_extra or {}
    if isinstance(extra, dict) and "default_text" in extra:
        return str(extra["default_text"])
    if info.is_required():
        return "required"
    value = info.default if info.default is not PydanticUndefined else info.default_factory()
    if value is None or value == () or value == {}:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, timedelta):
        return f"`{_duration(value)}`"
    if isinstance(value, int) and name in ("max_bytes",):
        return f"`{_size(value)}`"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, BaseModel):
        return ""
    return f"`{value}`"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for t in (annotation, *get_args(annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def rows(model: type[BaseModel], prefix: str = "", flatten: bool = False) -> list[tuple[str, str, str]]:
    """(key, default, meaning) for each field; with `flatten` (the top table), single nested models become
    `section.key` rows and a mapping reads `key.NAME` (its keys are names the user picks: watchlists, notifiers),
    while a mapping inside a section (a source's `headers`, `fields`) is one plain row."""
    out = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        nested = _nested_model(info.annotation)
        container = get_origin(info.annotation) in (tuple, dict, list)
        if flatten and nested is not None and not container:
            out.extend(rows(nested, f"{prefix}{name}.", flatten=False))
            continue
        key = f"{prefix}{info.alias or name}"  # the key as written: a rule's `in` is the field `in_`
        if flatten and get_origin(info.annotation) is dict:
            key += ".NAME"
        elif get_origin(info.annotation) in (tuple, list) and nested is not None:
            key += "[]"
        out.append((f"`{key}`", default_text(name, info), (info.description or "").strip()))
    return out


def _cell(text: str) -> str:
    """A `|` in a cell, even inside backticks, would end the cell in GitHub's Markdown."""
    return text.replace("|", r"\|")


def table(model: type[BaseModel], flatten: bool = False) -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for cells in rows(model, flatten=flatten):
        lines.append("|" + "|".join(f" {_cell(c)} " if c else " " for c in cells) + "|")
    return "\n".join(lines) + "\n"


def sections() -> dict[str, str]:
    """The README's generated tables by marker name: `top`, and one per list or mapping of models."""
    out = {"top": table(Config, flatten=True)}
    for name, info in Config.model_fields.items():
        nested = _nested_model(info.annotation)
        if nested is not None and get_origin(info.annotation) in (tuple, dict, list):
            out[name] = table(nested)
            for inner, inner_info in nested.model_fields.items():  # e.g. a notifier's `report` schedule
                single = _nested_model(inner_info.annotation)
                if single is not None and get_origin(inner_info.annotation) not in (tuple, dict, list):
                    out[inner] = table(single)
    return out


def fill_readme(text: str) -> str:
    """README text with every `<!-- config:NAME -->` block replaced by the generated table."""
    tables = sections()
    return MARKER.sub(lambda m: m.group(1) + tables.get(m.group(2), m.group(3)) + m.group(4), text)


def fill_readme_file(path: str | Path) -> bool:
    """Rewrite the README at `path` with freshly generated tables; True if it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    filled = fill_readme(text)
    if filled != text:
        path.write_text(filled, encoding="utf-8")
    return filled != text


def json_schema() -> str:
    schema = Config.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "newsradar config.yaml"
    return json.dumps(schema, indent=2, ensure_ascii=False, default=str)


if __name__ == "__main__":  # `python -m crawler.config.reference README.md`: regenerate the README's tables
    for name in sys.argv[1:] or ["README.md"]:
        print(f"{name}: {'updated' if fill_readme_file(name) else 'up to date'}")
