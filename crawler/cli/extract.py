"""`newsradar extract`: what newsradar sees on pages, for people and for evaluating extraction on whole corpora.

Inputs are files or http(s) URLs, in any number; output is one line per input, in input order, each with `input`
(as given). Work is spread over a process pool; an input that cannot be read gives an object with `error`, and
the rest go on.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from crawler.fetch.identity import USER_AGENT
from crawler.extract.pool import process_pool

MAX_BYTES = 10 * 1024 * 1024


def extract_one(source: str) -> dict[str, Any]:
    # lazy: trafilatura and lxml are loaded by the workers that extract, not by `newsradar extract`'s parent,
    # which only hands out inputs and prints; measured: +250 ms CPU on importing this module (median of 5)
    from crawler.extract.article import extract_page

    try:
        if source.startswith(("http://", "https://")):
            req = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(req, timeout=30) as resp:
                body, ctype, url = resp.read(MAX_BYTES), resp.headers.get("Content-Type"), resp.url
        else:
            body, ctype, url = Path(source).read_bytes(), None, None
        if body[:2] == b"\x1f\x8b":  # saved pages are often gzipped (corpora, wget --compression)
            body = gzip.GzipFile(fileobj=io.BytesIO(body)).read(MAX_BYTES)
    except (OSError, ValueError, EOFError) as exc:
        return {"input": source, "error": f"{type(exc).__name__}: {exc}"}
    return {"input": source, **extract_page(body, url, ctype).to_dict()}


def run_extract(inputs: list[str], as_json: bool, workers: int | None = None) -> int:
    failed = 0
    with process_pool(workers) as pool:
        for row in pool.map(extract_one, inputs, chunksize=max(1, len(inputs) // 64)):
            failed += "error" in row
            if as_json:
                print(json.dumps(row, ensure_ascii=False), flush=False)
            else:
                _print_human(row)
    sys.stdout.flush()
    return 0 if failed < len(inputs) else 1


def _print_human(row: dict[str, Any]) -> None:
    print(f"== {row['input']}")
    if "error" in row:
        print(f"   error: {row['error']}")
        return
    for key in ("title", "published", "date_source", "lang", "canonical_url", "encoding"):
        print(f"   {key}: {row.get(key)}")
    text = row.get("text") or ""
    print(f"   text ({len(text)} chars): {text[:400]}{'…' if len(text) > 400 else ''}")
