"""Hostile input over real loopback HTTP: every one is a recorded failure with a reason.

Bodies past the cap (as sent and as decompressed), servers that trickle bytes, redirect
loops, private and metadata addresses (directly, through a redirect, as a feed's item
links, or behind a name whose DNS answer changes after our check: DNS rebinding),
entity-expansion and external-entity feeds, and legacy charsets.
"""

from __future__ import annotations

import gzip
import socket
import time

import feedparser
import pytest

from dyadwatch.records import FeedState, ParsedEntry, Source, stable_id
from extractors.charset import decode_html, detect_charset
from extractors.feeds import fetch_feed, parse_feed
from extractors.http import fetch_url, http_client
from extractors.pages import fetch_pages
from extractors.runfiles import RunFiles
from extractors.safety import BlockedAddressError, address_refusal, check_feed_xml, check_url


def _source(url: str) -> Source:
    return Source(source_id=stable_id(url), kind="feed", url=url, outlet="Test")


def _get(settings, url: str, **kw):
    with http_client(settings) as client:
        return fetch_url(
            client,
            url,
            kind=kw.pop("kind", "page"),
            max_bytes=kw.pop("max_bytes", settings.http_max_bytes),
            deadline_s=kw.pop("deadline_s", settings.http_timeout),
            **kw,
        )


def test_body_over_the_cap_is_cut_while_streaming(site, settings):
    # No Content-Length check can catch it: the server drips the body in chunks.
    site.route("/big.html", "<p>" + "x" * 300_000, content_type="text/html")
    got = _get(settings, site.url("/big.html"), max_bytes=100_000)
    assert got.attempt.error_class == "too_large"
    assert got.body is None


def test_gzip_bomb_stops_at_the_decompressed_cap(site, settings):
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # 200 MB of zeros, ~200 KB
    assert len(bomb) < 1_000_000
    site.route(
        "/bomb.html", bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
    )
    started = time.monotonic()
    got = _get(settings, site.url("/bomb.html"), max_bytes=1_000_000)
    assert got.attempt.error_class == "too_large"
    assert "decompresses past" in got.attempt.error_message
    assert got.attempt.bytes < 1_000_000  # stopped long before reading all it was sent
    assert time.monotonic() - started < 2.0


def test_slow_loris_is_cut_by_the_deadline_not_by_a_read_timeout(site, settings):
    # 16 bytes every 0.3 s: each read is quick, the whole body would take 40 s.
    site.route("/loris.xml", "<rss>" + "x" * 2000 + "</rss>", drip=0.3, content_type="text/xml")
    started = time.monotonic()
    got = _get(settings, site.url("/loris.xml"), deadline_s=1.0, kind="feed")
    elapsed = time.monotonic() - started
    assert got.attempt.error_class == "timeout"
    assert elapsed < 2.0, elapsed


def test_redirect_loop_and_too_many_redirects(site, settings):
    site.route("/loop-a", status=302, headers={"Location": "/loop-b"})
    site.route("/loop-b", status=301, headers={"Location": site.url("/loop-a")})
    for i in range(10):
        site.route(f"/hop{i}", status=307, headers={"Location": f"/hop{i + 1}"})
    site.route("/hop10", "<html>end</html>", content_type="text/html")
    loop = _get(settings, site.url("/loop-a"))
    assert loop.attempt.error_class == "redirect_loop"
    chain = _get(settings.with_(http_max_redirects=3), site.url("/hop0"))
    assert chain.attempt.error_class == "too_many_redirects"
    assert len(site.requests) == 2 + 4
    ok = _get(settings.with_(http_max_redirects=10), site.url("/hop0"))
    assert ok.ok and ok.final_url == site.url("/hop10")


def test_private_and_metadata_addresses_are_refused():
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1",
                    "fd00:ec2::254", "fe80::1", "224.0.0.1", "0.0.0.0", "::ffff:10.0.0.1",
                    "100.64.0.1"):  # fmt: skip
        assert address_refusal(address), address
    assert address_refusal("93.184.215.14") is None
    assert address_refusal("2606:4700::1111") is None
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://localhost:8080/",
        "http://127.0.0.1/admin",
        "http://metadata.google.internal/computeMetadata/v1/",
    ):
        refusal = check_url(url, None)
        assert refusal is not None and refusal.error_class == "blocked_address", url
    assert check_url("ftp://example.org/feed.xml", None).error_class == "invalid_url"
    assert check_url("file:///etc/passwd", None).error_class == "invalid_url"


def test_redirect_to_the_metadata_address_is_refused_at_the_hop(site, settings):
    strict = settings.with_(allow_private_addresses=False, allowed_hosts=("127.0.0.1",))
    site.route(
        "/innocent.html",
        status=302,
        headers={"Location": "http://169.254.169.254/latest/meta-data/iam/"},
    )
    got = _get(strict, site.url("/innocent.html"))
    assert got.attempt.error_class == "blocked_address"
    assert "169.254.169.254" in got.attempt.error_message
    assert "redirect hop 1" in got.attempt.error_message


def test_feed_items_pointing_at_private_addresses_are_refused(site, settings, tmp_path):
    """The feed host is trusted by name (allowed_hosts); its items' hosts are not."""
    strict = settings.with_(allow_private_addresses=False, allowed_hosts=("127.0.0.1",))
    items = [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.7/internal.html",
        "http://localhost/secret.html",
        site.url("/fine.html"),
    ]
    rss = "<rss version='2.0'><channel><title>t</title>" + "".join(
        f"<item><title>i{i}</title><link>{u}</link></item>" for i, u in enumerate(items)
    ) + "</channel></rss>"  # fmt: skip
    site.route("/feed.xml", rss, content_type="application/rss+xml")
    site.route("/fine.html", "<html><body><p>fine</p></body></html>", content_type="text/html")
    with http_client(strict) as client:
        outcome = fetch_feed(client, strict, _source(site.url("/feed.xml")), None)
    assert outcome.attempts[-1].ok and len(outcome.entries) == 5
    files = RunFiles(strict.work_dir, "run1")
    files.write("entries", outcome.entries)
    fetch_pages(strict, "run1")
    log = {row["url"]: row for row in files.rows("fetch_log_pages") if row["kind"] == "page"}
    blocked = {u for u, row in log.items() if row["error_class"] == "blocked_address"}
    assert blocked == {e.url for e in outcome.entries if "fine" not in e.url}
    assert log[site.url("/fine.html")]["ok"]
    # nothing but the feed, robots.txt and the one public page reached any server
    assert sorted(p for _, p, _, _ in site.requests) == ["/feed.xml", "/fine.html", "/robots.txt"]


def _billion_laughs() -> bytes:
    levels = "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )  # fmt: skip
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY lol0 "lol">' + levels + "]>\n"
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>&lol9;</title><link>http://news.example/a</link></item>"
        "</channel></rss>"
    ).encode()


def _xxe(secret_path) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret_path}">]>\n'
        '<rss version="2.0"><channel><title>t &xxe;</title>'
        "<item><title>a &xxe;</title><link>http://news.example/a</link>"
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()


def test_billion_laughs_feed_is_refused_and_feedparser_would_not_expand_it(site, settings):
    body = _billion_laughs()
    site.route("/lol.xml", body, content_type="application/rss+xml")
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(site.url("/lol.xml")), None)
    assert outcome.attempts[-1].error_class == "unsafe_xml"
    assert "built from other entities" in outcome.attempts[-1].error_message
    assert outcome.entries == [] and outcome.state.consecutive_failures == 1
    # Defence in depth: feedparser on its own does not expand the entities either.
    started = time.monotonic()
    raw = feedparser.parse(body, sanitize_html=False)
    text = " ".join(str(v) for v in [raw.feed.get("title")] + [e.get("title") for e in raw.entries])
    assert "lollollol" not in text and len(text) < 100
    assert time.monotonic() - started < 1.0


def test_xxe_feed_is_refused_and_never_reads_the_file(site, settings, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-7f3a", encoding="utf-8")
    body = _xxe(secret)
    site.route("/xxe.xml", body, content_type="application/rss+xml")
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(site.url("/xxe.xml")), None)
    assert outcome.attempts[-1].error_class == "unsafe_xml"
    assert "external entity" in outcome.attempts[-1].error_message
    # feedparser, given the document anyway, does not read the file
    raw = feedparser.parse(body, sanitize_html=False)
    assert "TOPSECRET" not in repr(raw)
    parsed = parse_feed(body, url="http://news.example/f.xml", source_id="s")
    assert "TOPSECRET" not in repr(parsed)


def test_plain_internal_entities_are_still_fine():
    body = (
        b'<!DOCTYPE rss [<!ENTITY id "tag:example.com,"> <!ENTITY amp2 "&#38;">]>'
        b"<rss version='2.0'><channel><item><guid>&id;2006</guid>"
        b"<link>http://news.example/a</link></item></channel></rss>"
    )
    assert check_feed_xml(body) is None


# -- charsets ---------------------------------------------------------------------------

# Windows-1256 has the Arabic yeh (U+064A), not the Persian/Urdu one (U+06CC): pages in
# that encoding write it so, and the Urdu full stop as a plain one.
URDU = "پاکستان اور ايران نے تفتان سرحد پر تجارت بحال کر دي."
PERSIAN = "ايران و پاکستان گذرگاه مرزي را بازگشايي کردند."


def _page(text: str, meta: str = "") -> str:
    head = f'<meta charset="{meta}">' if meta else ""
    return f"<html><head>{head}<title>خبر</title></head><body><p>{text}</p></body></html>"


def test_windows_1256_page_over_http(site, settings):
    body = _page(URDU + " " + PERSIAN).encode("cp1256")
    site.route("/ur.html", body, content_type="text/html; charset=windows-1256")
    got = _get(settings, site.url("/ur.html"))
    assert got.ok and got.charset == "windows-1256"
    text = decode_html(got.body, got.charset)
    assert URDU in text and PERSIAN in text


def test_mislabelled_and_unlabelled_pages_decode():
    arabic = _page(PERSIAN, meta="windows-1256").encode("cp1256")
    # server default header, page's own meta is right
    assert detect_charset(arabic, "ISO-8859-1") == ("cp1256", "meta")
    assert PERSIAN in decode_html(arabic, "ISO-8859-1")
    # header says Latin-1, bytes are UTF-8 (and the meta says nothing)
    utf8 = _page(URDU).encode("utf-8")
    assert detect_charset(utf8, "iso-8859-1") == ("utf-8", "utf8")
    # meta says windows-1256 but the bytes are UTF-8
    assert URDU in decode_html(_page(URDU, meta="windows-1256").encode("utf-8"), None)
    # UTF-16 with a BOM, whatever the header says
    utf16 = _page(URDU, meta="utf-16").encode("utf-16")
    assert URDU in decode_html(utf16, "iso-8859-1")
    # no label at all: detected
    assert PERSIAN in decode_html(_page(PERSIAN * 5).encode("cp1256"), None)


def test_utf16_and_windows_1256_feeds_parse(site, settings):
    rss = (
        '<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><title>{t}</title>'
        "<item><title>{t}</title><link>http://news.example/{n}</link></item></channel></rss>"
    )
    site.route(
        "/u16.xml",
        rss.format(enc="utf-16", t=URDU, n="u16").encode("utf-16"),
        content_type="application/rss+xml",
    )
    site.route(
        "/cp.xml",
        rss.format(enc="windows-1256", t=PERSIAN, n="cp").encode("cp1256"),
        content_type="application/rss+xml; charset=windows-1256",
    )
    with http_client(settings) as client:
        u16 = fetch_feed(client, settings, _source(site.url("/u16.xml")), None)
        cp = fetch_feed(client, settings, _source(site.url("/cp.xml")), None)
    assert u16.entries[0].title == URDU
    assert cp.entries[0].title == PERSIAN


def test_blocked_item_is_not_blocked_in_offline_mode_checks(settings):
    """Offline mode sends every request to the loopback mirror: no resolution check."""
    offline = settings.with_(mode="offline", allow_private_addresses=False)
    assert check_url("http://dawn.example/feeds/home", offline) is None
    assert isinstance(ParsedEntry(source_id="s", url="http://x.example/"), ParsedEntry)
    assert FeedState(source_id="s").disabled_reason is None


# -- DNS rebinding: the address checked is the address connected to ---------------------

PUBLIC_ADDRESS = "93.184.215.14"


def _hostile_dns(monkeypatch, name: str) -> list[str]:
    """A hostile name server for ``name``: a public address first, loopback afterwards.

    It stands in for a DNS server we cannot run here (no internet, no root); every other
    name resolves as usual.  Returns the list of answers given, for the test to inspect.
    """
    real = socket.getaddrinfo
    answers: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        address = PUBLIC_ADDRESS if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_loopback_name_is_refused_at_connect_time_unless_allowed(site, settings):
    """The connect-time check on its own: a client request that skips check_url."""
    site.route("/secret.html", "<html>secret</html>", content_type="text/html")
    url = f"http://localhost:{site.server.server_address[1]}/secret.html"
    strict = settings.with_(allow_private_addresses=False, allowed_hosts=())
    with http_client(strict) as client, pytest.raises(BlockedAddressError, match="loopback"):
        client.get(url)
    assert site.requests == []
    # Through fetch_url it is a recorded failure (here check_url already knows the name).
    got = _get(strict, url)
    assert got.attempt.error_class == "blocked_address" and got.body is None
    assert site.requests == []
    # Loopback allowed by the setting: the same URL is fetched.
    with http_client(settings) as client:
        assert client.get(url).text == "<html>secret</html>"
    allowed = _get(settings, url)
    assert allowed.ok and allowed.body == b"<html>secret</html>"


def test_dns_rebinding_is_refused_at_connect_time(site, settings, monkeypatch):
    site.route("/admin.html", "<html>internal admin</html>", content_type="text/html")
    port = site.server.server_address[1]
    url = f"http://rebind.test:{port}/admin.html"
    strict = settings.with_(allow_private_addresses=False, allowed_hosts=())
    answers = _hostile_dns(monkeypatch, "rebind.test")
    got = _get(strict, url)
    # check_url saw the public answer; the connection asked again and got loopback.
    assert answers == [PUBLIC_ADDRESS, "127.0.0.1"]
    assert got.attempt.error_class == "blocked_address"
    assert "at connect time" in got.attempt.error_message
    assert "127.0.0.1 is a loopback address" in got.attempt.error_message
    assert got.body is None and site.requests == []
    # With loopback allowed, the same hostile name is simply fetched.
    answers.clear()
    allowed = _get(settings, url)
    assert allowed.ok and allowed.body == b"<html>internal admin</html>"
    assert site.requests[-1][1] == "/admin.html"
    assert site.requests[-1][2].get("Host") == f"rebind.test:{port}"  # Host header kept


def test_dns_rebinding_behind_a_redirect_is_refused_at_the_hop(site, settings, monkeypatch):
    """The feed host is trusted by name; the host it redirects to is vetted on connect."""
    port = site.server.server_address[1]
    site.route("/go", status=302, headers={"Location": f"http://rebind.test:{port}/admin"})
    site.route("/admin", "<html>internal admin</html>", content_type="text/html")
    strict = settings.with_(allow_private_addresses=False, allowed_hosts=("127.0.0.1",))
    answers = _hostile_dns(monkeypatch, "rebind.test")
    got = _get(strict, site.url("/go"))
    assert answers == [PUBLIC_ADDRESS, "127.0.0.1"]
    assert got.attempt.error_class == "blocked_address"
    assert "redirect to http://rebind.test" in got.attempt.error_message
    assert [p for _, p, _, _ in site.requests] == ["/go"]


def test_w3c_xhtml_entity_sets_pass_but_lookalikes_do_not():
    """Old RSS 1.0 feeds declare the XHTML Latin-1 set; it is never read, so not refused."""
    w3c = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n<!ENTITY % HTMLlat1 PUBLIC\n'
        b' "-//W3C//ENTITIES Latin 1 for XHTML//EN"\n'
        b' "http://www.w3.org/TR/xhtml1/DTD/xhtml-lat1.ent">\n%HTMLlat1;\n]>\n<rdf:RDF/>'
    )
    assert check_feed_xml(w3c) is None
    for hostile in (
        w3c.replace(b"http://www.w3.org/TR/xhtml1/DTD/xhtml-lat1.ent", b"file:///etc/passwd"),
        w3c.replace(b"-//W3C//ENTITIES Latin 1 for XHTML//EN", b"-//Evil//ENTITIES x//EN"),
        b'<!DOCTYPE r [<!ENTITY % x SYSTEM "http://www.w3.org/x.ent">%x;]><r/>',
    ):
        refusal = check_feed_xml(hostile)
        assert refusal is not None and refusal.error_class == "unsafe_xml", hostile
