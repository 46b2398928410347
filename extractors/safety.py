"""What we refuse to fetch or parse: non-web schemes, private addresses, hostile XML.

- :func:`check_url` refuses every scheme but http/https and, unless
  ``settings.allow_private_addresses`` (tests) or offline mode (the loopback snapshot
  mirror answers fictional ``.example`` hosts), every host not in
  ``settings.allowed_hosts`` that resolves to a loopback,
  private, link-local, reserved, multicast or cloud-metadata address.  It runs before
  the first request and again before every redirect hop, so a public URL redirecting
  to ``169.254.169.254`` is refused too.  (The check resolves the name itself; a name
  whose answers change between our look-up and httpx's — DNS rebinding — is not
  covered.)
- :func:`check_feed_xml` refuses XML whose DOCTYPE declares external entities or
  entities built from other entities (billion laughs).  feedparser already neither
  expands them nor reads external ones (it strips such DOCTYPEs before expat sees the
  document; the tests check both), so this only turns hostile input into a named
  failure, ``unsafe_xml``, instead of a quietly mangled feed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

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


_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*\[(?P<subset>.*?)\]\s*>", re.DOTALL | re.IGNORECASE)
_ENTITY = re.compile(
    rb"<!ENTITY\s+(?P<pe>%\s*)?(?P<name>[^\s]+)\s+(?P<rest>.*?)>", re.DOTALL | re.IGNORECASE
)

_ENTITY_REFERENCE = re.compile(rb"[&%][A-Za-z_:]")  # a named reference, not &#38;


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
        rest = entity.group("rest").lstrip()
        name = entity.group("name").decode("ascii", "replace")
        if rest[:6].upper() in (b"SYSTEM", b"PUBLIC"):
            return Refusal("unsafe_xml", f"the feed declares an external entity {name!r}")
        if entity.group("pe"):
            return Refusal("unsafe_xml", f"the feed declares a parameter entity {name!r}")
        if _ENTITY_REFERENCE.search(rest):
            return Refusal(
                "unsafe_xml", f"the feed declares entity {name!r} built from other entities"
            )
    return None
