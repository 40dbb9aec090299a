"""What a rendering source (`render: true | all`, issue 16) needs before it is used, checked with the config.

- `render` only on `type: html` sources; `wait_for` (a valid CSS selector) is required with it: a page rendered
  without an explicit wait is captured before its scripts have run. `wait_for` without `render` is an error too.
- the optional extra (`pip install 'newsradar[js]'`, which brings scrapy-playwright) is installed;
- a Chromium executable exists: `fetch.render_browser`, else the first of `BROWSER_NAMES` on PATH (the Debian
  packages `chromium` and `chromium-headless-shell`). newsradar never downloads a browser (no `playwright install`).

Only configs with a rendering source are checked for the extra and the browser: without one nothing changes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import Any

# Looked up on PATH in this order when `fetch.render_browser` is not set.
BROWSER_NAMES = ("chromium", "chromium-headless-shell", "chromium-browser")
INSTALL_EXTRA = "pip install 'newsradar[js]'"
INSTALL_BROWSER = "apt-get install chromium (Debian/Ubuntu; or chromium-headless-shell)"


def find_browser(configured: str | None = None) -> str | None:
    """The Chromium executable to launch: `configured` (a path, or a name looked up on PATH) when given, else the
    first of BROWSER_NAMES on PATH; None when there is none."""
    if configured:
        if os.sep in configured:
            return configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None
        return shutil.which(configured)
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def extra_installed() -> bool:
    """scrapy-playwright importable (found without importing it: Playwright is a heavy import)."""
    return importlib.util.find_spec("scrapy_playwright") is not None


def check_rendering(config: Any) -> list[tuple[tuple, str]]:
    """[(loc, message)] for the rendering keys of every source, and for the extra and browser they need."""
    out: list[tuple[tuple, str]] = []
    rendering: list[int] = []
    for i, src in enumerate(config.sources):
        if src.render is False:
            if src.wait_for:
                out.append((("sources", i, "wait_for"),
                            f"source '{src.name}': wait_for applies only with render: true or render: all"))
            continue
        if src.type != "html":
            out.append((("sources", i, "render"),
                        f"source '{src.name}': render applies to type html (listing pages), not {src.type}"))
            continue
        if not src.wait_for:
            out.append((("sources", i, "render"),
                        f"source '{src.name}': render needs wait_for (a CSS selector the rendered page shows when "
                        "its scripts are done, e.g. wait_for: 'a.headline'): without it the page is read before "
                        "its scripts have run"))
        else:
            from cssselect import GenericTranslator, SelectorError  # lazy: as in crawler.config.checks

            try:
                GenericTranslator().css_to_xpath(src.wait_for)
            except SelectorError as exc:
                out.append((("sources", i, "wait_for"), f"invalid CSS selector '{src.wait_for}': {exc}"))
        if src.enabled:
            rendering.append(i)
    if rendering:
        first = ("sources", rendering[0], "render")
        name = config.sources[rendering[0]].name
        if not extra_installed():
            out.append((first, f"source '{name}' renders pages, which needs scrapy-playwright: {INSTALL_EXTRA}"))
        if find_browser(config.fetch.render_browser) is None:
            if config.fetch.render_browser:
                out.append((("fetch", "render_browser"),
                            f"fetch.render_browser '{config.fetch.render_browser}' is not an executable file"))
            else:
                out.append((first, f"source '{name}' renders pages, which needs Chromium and none of "
                                   f"{', '.join(BROWSER_NAMES)} is on PATH: {INSTALL_BROWSER}, or set "
                                   "fetch.render_browser to its path"))
    return out
