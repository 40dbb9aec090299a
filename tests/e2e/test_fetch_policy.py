"""The fetch policy: only http(s), no internal address without `allow_private`, at every hop.

Test traffic stays on 127.0.0.0/8: the refusal of internal addresses is shown by classifying spellings (no
network), by a source on 127.0.0.1 without the opt-in (nothing is sent), and by redirects to a second server
on 127.0.0.2 (the subprocess treats 127.0.0.1 alone as public through a test hook, tests/hooks)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crawler.fetch.addresses import host_refusal, literal_address, refusal
from crawler.store.database import FailedUrl, Store
from tests.conftest import ROOT, cli, items, newsradar
from tests.support.newssite import article
from tests.support.site import Site

HOOKS = {"PYTHONPATH": f"{ROOT / 'tests' / 'support' / 'hooks'}:{ROOT}", "NEWSRADAR_TEST_PUBLIC_ADDRESS": "127.0.0.1"}

INTERNAL_V4 = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
    "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
)]
INTERNAL_V6 = [ipaddress.ip_network(n) for n in ("::1/128", "::/128", "fe80::/10", "fc00::/7", "ff00::/8",
                                                  "2001:db8::/32")]


def _v4_spellings(a: ipaddress.IPv4Address) -> list[str]:
    """The ways a resolver accepts to write `a` (each checked against inet_aton where it is an IPv4 spelling)."""
    b = a.packed
    n = int(a)
    return [
        str(a), str(n), hex(n), hex(n).upper().replace("0X", "0x"),
        ".".join(f"0{x:o}" for x in b),                       # octal parts
        ".".join(hex(x) for x in b),                          # hex parts
        f"{b[0]}.{b[1]}.{(b[2] << 8) | b[3]}",                # a.b.c
        f"{b[0]}.{(b[1] << 16) | (b[2] << 8) | b[3]}",        # a.b
        f"0x{b[0]:x}.{b[1]}.0{b[2]:o}.{b[3]}",                # mixed
    ]


def _mapped_spellings(a: ipaddress.IPv4Address) -> list[str]:
    hi, lo = int(a) >> 16, int(a) & 0xFFFF
    return [f"::ffff:{a}", f"[::ffff:{a}]", f"::ffff:{hi:x}:{lo:x}", f"0:0:0:0:0:ffff:{hi:x}:{lo:x}",
            f"[::FFFF:{hi:X}:{lo:X}]", f"64:ff9b::{a}", f"2002:{hi:x}:{lo:x}::1"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(INTERNAL_V4).flatmap(lambda net: st.ip_addresses(network=net)))
def test_every_spelling_of_an_internal_ipv4_address_is_refused(address):
    for spelling in _v4_spellings(address):
        assert socket.inet_aton(spelling) == address.packed, f"{spelling!r} is not a real spelling of {address}"
        assert literal_address(spelling) == address, spelling
        assert host_refusal(spelling), f"{spelling} ({address}) was allowed"
    for spelling in _mapped_spellings(address):
        why = host_refusal(spelling)
        assert why and str(address) in why, f"{spelling} ({address}) was allowed: {why}"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(INTERNAL_V6).flatmap(lambda net: st.ip_addresses(network=net)))
def test_every_spelling_of_an_internal_ipv6_address_is_refused(address):
    for spelling in (str(address), f"[{address}]", address.exploded, address.exploded.upper(),
                     f"[{address}%eth0]" if address.is_link_local else str(address)):
        assert host_refusal(spelling), f"{spelling} was allowed"


@pytest.mark.parametrize("host", ["8.8.8.8", "134744072", "0x8080808", "2606:4700::1111", "[::ffff:8.8.8.8]",
                                  "example.com", "2130706433.example.com"])
def test_public_addresses_and_host_names_are_not_refused_by_spelling(host):
    assert host_refusal(host) is None


def test_the_refusal_names_the_address_and_its_kind():
    assert refusal(ipaddress.ip_address("127.0.0.1")) == "127.0.0.1 is a loopback address"
    assert refusal(ipaddress.ip_address("169.254.169.254")) == "169.254.169.254 is a link-local address"
    assert "10.0.0.1 is a private address" in host_refusal("::ffff:10.0.0.1")
    assert host_refusal("2130706433") == "127.0.0.1 is a loopback address"


def _config(tmp_path: Path, url: str, allow_private: bool, kind: str = "html") -> Path:
    config = tmp_path / "config.yaml"
    links = '\n    links: "a.headline"' if kind == "html" else ""
    config.write_text(f"""store: sqlite:///store.db
max_age: 3650d
fetch: {{delay: 0s, timeout: 5s, retries: 0}}
sources:
  - name: s
    type: {kind}
    url: {url}{links}
    allow_private: {str(allow_private).lower()}
""")
    return config


def _failures(tmp_path: Path) -> dict[str, str]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.session() as s:
            return {row.url: row.error for row in s.scalars(select(FailedUrl))}
    finally:
        store.close()


def test_a_source_on_a_loopback_address_is_refused_without_the_opt_in_and_nothing_is_sent(site, tmp_path):
    site.add("/markets/", '<a class="headline" href="/a.html">a</a>')
    config = _config(tmp_path, site.url("/markets/"), allow_private=False)
    with config.open("a") as f:  # the same server by name: the resolved address is checked
        f.write(f'  - {{name: by-name, type: feed, url: "http://localhost:{site.port}/rss.xml"}}\n')
    proc = newsradar("run", "--once", "-c", str(config))
    assert "source=s status=error" in proc.stderr and "source=by-name status=error" in proc.stderr
    assert "127.0.0.1 is a loopback address" in proc.stderr and "allow_private" in proc.stderr, proc.stderr
    assert "(localhost resolves to 127.0.0.1): 127.0.0.1 is a loopback address" in proc.stderr, proc.stderr
    assert not site.hits, f"requests were sent: {dict(site.hits)}"
    assert "127.0.0.1 is a loopback address" in cli("status", "--json", "-c", str(config)).stdout


@pytest.fixture
def inside():
    """An 'internal' server: the same machine, another loopback address."""
    s = Site("127.0.0.2")
    yield s
    s.close()


def _redirecting_listing(site: Site, inside: Site) -> dict[str, str]:
    """A listing whose articles redirect to 127.0.0.2 (dotted, and as one integer), and one public article."""
    inside.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    targets = {
        "/go-dotted.html": inside.url("/secret-1.html"),
        "/go-integer.html": f"http://{int(ipaddress.ip_address('127.0.0.2'))}:{inside.port}/secret-2.html",
    }
    for i, (path, target) in enumerate(targets.items(), 1):
        body = [" ".join(f"memo{i} iFlytek internal{i} word{j}" for j in range(40))]  # distinct: no copies
        inside.add(f"/secret-{i}.html", article(f"Internal memo {i} on iFlytek", body,
                                                 "2025-06-11T09:30:00+08:00", lang="en"))
        site.add(path, "", status=302, headers={"Location": target})
    site.add("/public.html", article("Public story", ["A public story about markets. " * 20],
                                     "2025-06-11T09:30:00+08:00", lang="en"))
    links = "".join(f'<a class="headline" href="{p}">x</a>' for p in [*targets, "/public.html"])
    site.add("/markets/", f"<html><body>{links}</body></html>")
    return targets


def test_a_redirect_to_an_internal_address_is_refused_at_the_hop_naming_it(site, inside, tmp_path):
    targets = _redirecting_listing(site, inside)
    config = _config(tmp_path, site.url("/markets/"), allow_private=False)
    proc = newsradar("run", "--once", "-c", str(config), env=HOOKS)
    assert "source=s status=ok" in proc.stderr, proc.stderr
    assert site.hits["/go-dotted.html"] == 1 and site.hits["/go-integer.html"] == 1
    assert not inside.hits, f"the internal server was reached: {dict(inside.hits)}"
    assert [r["title"] for r in items(config)] == ["Public story"]
    failures = _failures(tmp_path)
    for target in targets.values():
        assert "127.0.0.2 is a loopback address" in failures[target], failures


def test_a_redirect_to_an_internal_address_is_followed_under_the_opt_in(site, inside, tmp_path):
    _redirecting_listing(site, inside)
    config = _config(tmp_path, site.url("/markets/"), allow_private=True)
    newsradar("run", "--once", "-c", str(config), env=HOOKS)
    titles = {r["title"] for r in items(config)}
    assert titles == {"Public story", "Internal memo 1 on iFlytek", "Internal memo 2 on iFlytek"}, titles
    assert inside.hits["/secret-1.html"] == 1 and inside.hits["/secret-2.html"] == 1


def test_file_links_in_feeds_and_listings_are_never_read(site, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_text(article("Local file iFlytek", ["LOCAL-FILE-MARKER iFlytek " * 30], "2025-06-11T09:30:00Z"))
    site.add("/markets/", f'<a class="headline" href="file://{secret}">a</a>'
                          f'<a class="headline" href="file://localhost{secret}">b</a>')
    site.add("/rss.xml", f"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>From disk</title><link>file://localhost{secret}</link></item></channel></rss>""",
             "application/rss+xml")
    for kind, path in (("html", "/markets/"), ("feed", "/rss.xml")):
        workdir = tmp_path / kind
        workdir.mkdir()
        config = _config(workdir, site.url(path), allow_private=True, kind=kind)
        proc = newsradar("run", "--once", "-c", str(config))
        assert "only http and https URLs are fetched, not file:" in proc.stderr, proc.stderr
        assert not any("LOCAL-FILE-MARKER" in (r["text"] or "") for r in items(config)), kind
    assert len(_failures(tmp_path / "html")) == 2, "each refused link is a recorded failure"
    # The feed entry is kept from the feed's own title (as for any entry whose page cannot be fetched).
    assert [r["title"] for r in items(tmp_path / "feed" / "config.yaml")] == ["From disk"]


def test_robots_txt_per_rfc_9309_5xx_disallows_4xx_allows_redirects_followed_500_kib_parsed(tmp_path):
    sites = {name: Site() for name in ("down", "none", "moved", "huge")}
    try:
        for s in sites.values():
            s.add("/markets/", '<a class="headline" href="/a.html">a</a>')
            s.add("/a.html", article("A story", [f"story on port {s.port} " * 30], "2025-06-11T09:30:00Z", lang="en"))
        sites["down"].add("/robots.txt", "busy", "text/plain", status=503)
        # "none" publishes no robots.txt: a 404
        sites["moved"].add("/robots.txt", "", status=301, headers={"Location": "/r1"})
        sites["moved"].add("/r1", "", status=302, headers={"Location": "/real-robots.txt"})
        sites["moved"].add("/real-robots.txt", "User-agent: *\nDisallow: /markets/\n", "text/plain")
        sites["huge"].add("/robots.txt", "#" * (510 * 1024) + "\nUser-agent: *\nDisallow: /\n", "text/plain")
        config = tmp_path / "config.yaml"
        sources = "".join(f'  - {{name: {n}, type: html, url: "{s.url("/markets/")}", links: a.headline, '
                          f'allow_private: true}}\n' for n, s in sites.items())
        config.write_text(f"store: sqlite:///store.db\nmax_age: 3650d\nfetch: {{delay: 0s, retries: 0}}\n"
                          f"sources:\n{sources}")
        proc = newsradar("run", "--once", "-c", str(config))
        assert "source=down status=error" in proc.stderr and "robots.txt answered HTTP 503" in proc.stderr
        assert sites["down"].hits["/markets/"] == 0
        assert "source=none status=ok" in proc.stderr and sites["none"].hits["/a.html"] == 1
        assert "source=moved status=error" in proc.stderr and sites["moved"].hits["/real-robots.txt"] == 1
        assert sites["moved"].hits["/markets/"] == 0, "the redirected robots.txt disallows the listing"
        assert "source=huge status=ok" in proc.stderr, "a rule past the first 500 KiB is not parsed"
    finally:
        for s in sites.values():
            s.close()


def test_a_robots_txt_that_could_not_be_had_is_asked_again_sooner_than_a_parsed_one():
    from crawler.fetch import robots

    assert robots.ttl(robots.DisallowAll("HTTP 503")) <= 15 * 60 < robots.TTL_SECONDS == robots.ttl(object())
