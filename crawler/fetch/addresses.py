"""Which addresses newsradar may fetch: a pure classifier for the fetch guard (crawler/fetchguard.py).

`literal_address(host)` reads a URL host that is an IP address in any spelling a resolver accepts: dotted quad,
one integer (`2130706433`), hex or octal parts (`0x7f.0.0.1`, `0177.0.0.1`), short forms (`127.1`), IPv6 with or
without brackets and zone id, IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`). It returns None for a
host name. `refusal(address)` says why an address is not fetched (loopback, private, link-local, multicast,
reserved, unspecified or otherwise not globally reachable), or None for a public address. IPv6 forms that embed
an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64 `64:ff9b::/96`) are judged by the embedded address too.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address

Address = IPv4Address | IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not globally reachable per the IANA registries, though older Pythons' `is_global` misses them (3.13 knows).
_ALSO_INTERNAL = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.0/24", "3fff::/20", "64:ff9b:1::/48", "fec0::/10",
))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def literal_address(host: str | None) -> Address | None:
    """The IP address a URL host spells, in any spelling inet_aton/getaddrinfo accept; None for a host name."""
    if not host:
        return None
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.split("%", 1)[0]  # IPv6 zone id
    if ":" in h:
        try:
            return IPv6Address(h)
        except ValueError:
            return None
    return _inet_aton(h.rstrip(".") if h.count(".") == 4 and h.endswith(".") else h)


def _inet_aton(h: str) -> IPv4Address | None:
    """inet_aton's grammar: 1 to 4 parts, each decimal, 0x-hex or 0-octal; the last part fills the rest."""
    parts = h.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part.startswith("0x"):
                values.append(int(part[2:] or "0", 16))  # "0x" alone is 0 for inet_aton
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part[1:], 8))
            elif part.isdigit():
                values.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    return IPv4Address(number * 256 ** (4 - len(head)) + last)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address) -> str | None:
    """Why `address` is not fetched without `allow_private` ('127.0.0.1 is a loopback address'), or None."""
    if isinstance(address, IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:  # the packets go to the embedded IPv4 address: it alone decides
            why = refusal(inner)
            return f"{address} embeds {why}" if why else None
    kind = next((name for name, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ) if flag), None)
    if kind is None and any(address in net for net in _ALSO_INTERNAL):
        kind = "reserved"
    if kind is None and not address.is_global:
        kind = "non-public"  # shared address space (100.64/10) and the like
    return f"{address} is a {kind} address" if kind else None


def host_refusal(host: str | None) -> str | None:
    """`refusal` for a URL host that is an IP literal; None for a public literal or a host name."""
    address = literal_address(host)
    return refusal(address) if address is not None else None
