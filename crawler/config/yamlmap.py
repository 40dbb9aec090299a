"""YAML loading that remembers where every value came from.

`load(text, filename)` returns `(data, lines)`: `data` is plain Python (dicts, lists, scalars) with `${VAR}`
references in strings expanded from the environment, and `lines` maps a path such as `("sources", 0, "every")` to
the 1-based line of that key (or list item) in the file. Config errors use it to say `config.yaml:12: ...`.
A missing environment variable is an error naming the variable and the line, never its (absent) value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path = tuple[Any, ...]


class YamlProblem(ValueError):
    """A file that is not valid YAML, or refers to an unset variable. `problems` is [(line, message)]."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        self.problems = problems
        super().__init__("; ".join(m for _, m in problems))


def load(text: str, env: Mapping[str, str] | None = None) -> tuple[Any, dict[Path, int]]:
    env = os.environ if env is None else env
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise YamlProblem([(line, f"not valid YAML: {reason}")]) from None
    lines: dict[Path, int] = {}
    problems: list[tuple[int | None, str]] = []
    if root is None:
        return {}, lines
    data = _convert(root, (), lines, problems, env)
    if problems:
        raise YamlProblem(problems)
    return data, lines


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list, env: Mapping[str, str]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(" ").construct_object(key_node)
            if key in out:
                problems.append((key_node.start_mark.line + 1, f"duplicate key '{key}'"))
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, path + (key,), lines, problems, env)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), lines, problems, env) for i, item in enumerate(node.value)]
    value = yaml.SafeLoader(" ").construct_object(node)
    if isinstance(value, str) and "${" in value:
        value = _expand(value, node.start_mark.line + 1, problems, env)
    return value


def _expand(value: str, line: int, problems: list, env: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name not in env and default is not None:
            return default
        if name not in env:
            problems.append((line, f"environment variable {name} is not set"))
            return ""
        return env[name]

    return _VAR.sub(sub, value)


def line_of(lines: Mapping[Path, int], loc: Path) -> int | None:
    """The line of `loc`, or of its nearest ancestor that the file names (a missing key's parent)."""
    loc = tuple(loc)
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc)
