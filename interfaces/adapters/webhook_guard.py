"""SSRF guard for webhook URLs: only hosts that resolve to public addresses, unless allowed.

``check_url`` resolves the URL's host (every address ``getaddrinfo`` gives) and refuses the URL
if any address is loopback, link-local, private, multicast, reserved, unspecified or otherwise not
global. IPv4 addresses hidden in IPv6 ones (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
6to4 ``2002::/16``) are judged by the IPv4 address they carry. The operator's allow list
(``LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS``: host names, IP addresses or CIDRs) lets chosen hosts or
networks through: a listed host name is trusted whatever it resolves to; a listed address or network
admits the addresses inside it. It is called when a webhook is created or its URL changes, and again
before each delivery (DNS can change between the two).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
SETTING = "LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS"


class UnsafeWebhookURL(ValueError):
    """The webhook URL points at a non-public address (or cannot be resolved) and is not allowed."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, allowed: Sequence[str], *, resolver: Resolver = resolve) -> None:
    """Refuse (``UnsafeWebhookURL``) a URL whose host is not public and not in ``allowed``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeWebhookURL("The webhook URL has no host")
    names, networks = _allow_list(allowed)
    if host in names:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeWebhookURL("The webhook URL has an invalid port") from None
    for address in _addresses(host, port, resolver):
        if any(candidate in net for candidate in _embedded(address) for net in networks):
            continue
        problem = _why_not_public(address)
        if problem is not None:
            raise UnsafeWebhookURL(
                f"The webhook URL's host {host} resolves to {address}, {problem}; only public"
                f" addresses can receive webhooks (operators may allow hosts in {SETTING})"
            )


def _allow_list(allowed: Sequence[str]) -> tuple[set[str], list[IPNetwork]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in (e.strip() for e in allowed):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.rstrip(".").lower())
    return names, networks


def _addresses(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError):
        found = []
    if not found:
        raise UnsafeWebhookURL(f"The webhook URL's host {host} cannot be resolved")
    return [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address it carries."""
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address in NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _why_not_public(address: IPAddress) -> str | None:
    """Why ``address`` (or an IPv4 address inside it) may not receive webhooks; None if public."""
    for candidate in reversed(_embedded(address)):  # the carried IPv4 address names it best
        for flag, why in (
            ("is_unspecified", "an unspecified address"),
            ("is_loopback", "a loopback address"),
            ("is_link_local", "a link-local address"),
            ("is_multicast", "a multicast address"),
            ("is_reserved", "a reserved address"),
            ("is_private", "a private address"),
        ):
            if getattr(candidate, flag):
                return why
        if not candidate.is_global:
            return "not a public address"
    return None
