"""What we refuse to fetch or parse: non-web schemes, private addresses, hostile XML.

- :func:`check_url` refuses every scheme but http/https and, unless
  ``settings.allow_private_addresses`` (tests) or offline mode (the loopback snapshot
  mirror answers fictional ``.example`` hosts), every host not in
  ``settings.allowed_hosts`` that resolves to a loopback,
  private, link-local, reserved, multicast or cloud-metadata address.  It runs before
  the first request and again before every redirect hop, so a public URL redirecting
  to ``169.254.169.254`` is refused too.
- :class:`VettedNetworkBackend` closes the gap a look-up ahead of the request leaves
  (DNS rebinding: a hostile name server answers a public address to our check and a
  private one to the connection).  It is the httpcore network backend our clients
  connect through: it resolves the name once, connects only to an address that
  passes :func:`address_refusal`, and checks the connected socket's peer address
  again, so the address checked is the address connected to.  TLS keeps the host
  name for SNI and certificate checks and the request keeps its ``Host`` header,
  because httpcore takes both from the URL, not from the socket.  A refusal raises
  :class:`BlockedAddressError`, which the fetch records as ``blocked_address``.
- :func:`check_feed_xml` refuses XML whose DOCTYPE declares external entities or
  entities built from other entities (billion laughs) — except the W3C XHTML entity
  sets (Latin 1, Symbols, Special) old RSS 1.0 feeds declare, which are never read.
  feedparser already neither expands them nor reads external ones (it strips such
  DOCTYPEs before expat sees the document; the tests check both), so this only turns
  hostile input into a named failure, ``unsafe_xml``, instead of a quietly mangled
  feed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore

from dyadwatch.settings import Settings

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Cloud metadata endpoints (AWS/GCP/Azure/OpenStack IPv4, AWS IPv6, Alibaba).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


@dataclass(frozen=True)
class Refusal:
    """Why a URL or a body is refused: the fetch_log error class and a sentence."""

    error_class: str
    message: str


def address_refusal(address: str) -> str | None:
    """Why an IP address must not be fetched from, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return f"{ip} is a {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def resolve_host(host: str, port: int | None) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def check_url(url: str, settings: Settings | None) -> Refusal | None:
    """Why ``url`` must not be fetched, or None when it may be.

    ``settings`` None means the strictest policy (no private addresses).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return Refusal("invalid_url", f"not a valid URL: {exc}")
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return Refusal(
            "invalid_url", f"only http and https URLs are fetched, not {scheme or url!r}"
        )
    host = (parts.hostname or "").strip().lower().rstrip(".")
    if not host:
        return Refusal("invalid_url", f"URL has no host: {url!r}")
    if settings is not None and (
        settings.allow_private_addresses or settings.offline or host in settings.allowed_hosts
    ):
        return None
    if host in METADATA_HOSTS or host == "localhost" or host.endswith(".localhost"):
        return Refusal("blocked_address", f"host {host} is a local or metadata name")
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        return Refusal("dns_error", f"host {host} could not be resolved: {exc}")
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            return Refusal("blocked_address", f"host {host} resolves to {reason}")
    return None


def _host_is_exempt(host: str, settings: Settings | None) -> bool:
    """True when the settings let ``host`` be fetched whatever it resolves to."""
    if settings is None:
        return False
    host = host.strip().lower().rstrip(".").strip("[]")
    return settings.allow_private_addresses or settings.offline or host in settings.allowed_hosts


class BlockedAddressError(Exception):
    """A connection refused at connect time because of the address it would reach."""


class VettedNetworkBackend(httpcore.SyncBackend):
    """An httpcore backend that connects only to addresses :func:`address_refusal` allows.

    The name is resolved here, once; the socket is opened to the vetted IP itself, and
    its peer address is checked again once connected.  Hosts the settings exempt
    (``allow_private_addresses``, offline mode, ``allowed_hosts``) connect as usual.
    """

    def __init__(self, settings: Settings | None) -> None:
        self.settings = settings

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if _host_is_exempt(host, self.settings):
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        name = host.strip("[]")
        if name.lower().rstrip(".") in METADATA_HOSTS:
            raise BlockedAddressError(f"host {name} is a metadata name (refused at connect time)")
        try:
            addresses = resolve_host(name, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"host {name} could not be resolved: {exc}") from exc
        vetted = [a for a in addresses if address_refusal(a) is None]
        if not vetted:
            reason = address_refusal(addresses[0]) if addresses else "no address"
            raise BlockedAddressError(
                f"host {name} resolves at connect time to {reason} (refused before connecting)"
            )
        error: Exception | None = None
        for address in vetted:
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            peer = stream.get_extra_info("socket").getpeername()[0]
            reason = address_refusal(peer)
            if reason:
                stream.close()
                raise BlockedAddressError(f"host {name} connected to {reason} (refused)")
            return stream
        assert error is not None
        raise error


_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*\[(?P<subset>.*?)\]\s*>", re.DOTALL | re.IGNORECASE)
_ENTITY = re.compile(
    rb"<!ENTITY\s+(?P<pe>%\s*)?(?P<name>[^\s]+)\s+(?P<rest>.*?)>", re.DOTALL | re.IGNORECASE
)

_ENTITY_REFERENCE = re.compile(rb"[&%][A-Za-z_:]")  # a named reference, not &#38;

# The XHTML entity sets old RSS 1.0 feeds declare (``<!ENTITY % HTMLlat1 PUBLIC
# "-//W3C//ENTITIES Latin 1 for XHTML//EN" "http://www.w3.org/TR/xhtml1/DTD/...">``):
# well known, never fetched (feedparser strips the DOCTYPE), so not refused.
_W3C_ENTITY_SET = re.compile(
    rb'PUBLIC\s+"-//W3C//ENTITIES (?:Latin 1|Symbols|Special)(?: for XHTML)?//EN"'
    rb'(?:\s+"https?://www\.w3\.org/[^"]*\.ent")?\s*$',
    re.IGNORECASE,
)


def _head_as_ascii(body: bytes, limit: int = 65536) -> bytes:
    """The start of a document with UTF-16/32 turned into bytes the regexes can read."""
    head = body[:limit]
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"<\x00?\x00", "utf-16-le"),
        (b"\x00<\x00?", "utf-16-be"),
    ):
        if head.startswith(bom):
            return head.decode(codec, errors="ignore").encode("ascii", errors="replace")
    return head


def check_feed_xml(body: bytes) -> Refusal | None:
    """Refuse a feed whose DOCTYPE declares external or nested (expanding) entities."""
    head = _head_as_ascii(body)
    if b"<!ENTITY" not in head.upper():
        return None
    match = _DOCTYPE.search(head)
    subset = match.group("subset") if match else head
    for entity in _ENTITY.finditer(subset):
        rest = entity.group("rest").strip()
        name = entity.group("name").decode("ascii", "replace")
        if entity.group("pe") and _W3C_ENTITY_SET.match(rest):
            continue
        if rest[:6].upper() in (b"SYSTEM", b"PUBLIC"):
            return Refusal("unsafe_xml", f"the feed declares an external entity {name!r}")
        if entity.group("pe"):
            return Refusal("unsafe_xml", f"the feed declares a parameter entity {name!r}")
        if _ENTITY_REFERENCE.search(rest):
            return Refusal(
                "unsafe_xml", f"the feed declares entity {name!r} built from other entities"
            )
    return None
