"""Turning page bytes into text: BOM, HTTP header, ``<meta charset>``, and plain evidence.

Real pages lie about their encoding.  The common lies, and what wins here:

1. A byte-order mark (UTF-8, UTF-16, UTF-32) is never accidental: it wins.
2. Bytes that are valid UTF-8 and not pure ASCII are UTF-8, whatever the labels say
   (servers that default to ``ISO-8859-1`` in the header are the usual liars; real
   Windows-1256 or Latin-1 text almost never happens to be valid UTF-8).
3. Otherwise the labels, header and ``<meta>``: when they disagree and the header names
   a server default (ISO-8859-1, Windows-1252, US-ASCII), the page's own ``<meta>``
   wins; otherwise the header, as HTML says.  A label that cannot decode the bytes
   strictly is passed over.
4. No usable label: charset-normalizer's detection, then Windows-1252 with
   replacement characters (never an exception).

:func:`decode_html` is what the extraction step calls; :func:`detect_charset` says
which encoding it chose and why.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels servers send by default rather than by knowledge of the page.
DEFAULT_LABELS = frozenset({"iso-8859-1", "latin-1", "windows-1252", "cp1252", "ascii"})
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*(?P<charset>[A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)


def normalise_charset(label: str | None) -> str | None:
    """The Python codec name of an encoding label, or None when Python does not know it.

    Latin-1 labels map to Windows-1252, as browsers do (the WHATWG encoding standard).
    """
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in ("latin-1", "iso8859-1"):
        return "cp1252"
    return name


def meta_charset(body: bytes) -> str | None:
    """The charset a page's ``<meta>`` names in its first 4 KiB, as a label."""
    match = _META_CHARSET.search(body[:4096])
    return match.group("charset").decode("ascii", "replace") if match else None


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_charset(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """The codec to decode ``body`` with, and the reason (``bom``, ``utf8``, ``header``,
    ``meta``, ``detected`` or ``fallback``)."""
    for bom, codec in BOMS:
        if body.startswith(bom):
            return codec, "bom"
    if not body.isascii() and _decodes(body, "utf-8"):
        return "utf-8", "utf8"
    header = normalise_charset(header_charset)
    meta = normalise_charset(meta_charset(body))
    order = [("header", header), ("meta", meta)]
    if header in {normalise_charset(x) for x in DEFAULT_LABELS} and meta and meta != header:
        order.reverse()
    for reason, codec in order:
        if codec and not codec.startswith(("utf-16", "utf-32")) and _decodes(body, codec):
            return codec, reason
    if body.isascii():
        return "ascii", "utf8"
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return best.encoding, "detected"
    return "cp1252", "fallback"


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """The text of an HTML page (see the module docstring for how the charset is chosen)."""
    codec, _ = detect_charset(body, header_charset)
    return body.decode(codec, errors="replace")
