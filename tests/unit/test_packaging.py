"""`pip install .` (not only `-e`) ships every package and template of the layout."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_shipped_with_its_templates():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = set(find_packages(str(ROOT), include=include))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for top in ("crawler", "alerts", "spiders")
               for p in (ROOT / top).rglob("__init__.py") if "__pycache__" not in p.parts}
    assert on_disk <= shipped, f"not shipped: {sorted(on_disk - shipped)}"
    data = project["tool"]["setuptools"]["package-data"]
    for folder in {p.parent for top in ("crawler", "alerts") for p in (ROOT / top).glob("**/templates/*.j2")}:
        package = ".".join(folder.parent.relative_to(ROOT).parts)
        assert "templates/*.j2" in data.get(package, []), f"{package}'s templates are not package data"
