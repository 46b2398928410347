"""HTTP fetching with limits: one client, timeouts, a size cap, conditional GET.

Every fetch returns a :class:`Fetched` whose ``attempt`` is the ``fetch_log`` row; a bad
response (timeout, 404, too large, not HTML, ...) is a recorded failure, never an
exception.  Bodies are streamed and cut at ``max_bytes``, never read whole first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from dyadwatch.records import FetchAttempt
from dyadwatch.settings import Settings

HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class Fetched:
    """The outcome of one GET: the body when it worked, and the log row either way."""

    attempt: FetchAttempt
    body: bytes | None = None
    final_url: str | None = None
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def ok(self) -> bool:
        return self.attempt.ok


@contextmanager
def http_client(settings: Settings, *, proxy: str | None = None) -> Iterator[httpx.Client]:
    """An httpx client set up from the settings (User-Agent, timeouts, redirects)."""
    client = httpx.Client(
        headers={"User-Agent": settings.full_user_agent, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(settings.http_timeout),
        follow_redirects=True,
        max_redirects=settings.http_max_redirects,
        proxy=proxy,
        trust_env=False,
    )
    try:
        yield client
    finally:
        client.close()


@contextmanager
def run_client(settings: Settings) -> Iterator[httpx.Client]:
    """The client a run fetches with: in offline mode, through the snapshot mirror."""
    from extractors.mirror import serve_mirror

    with ExitStack() as stack:
        proxy = (
            stack.enter_context(serve_mirror(settings.snapshot_dir)) if settings.offline else None
        )
        yield stack.enter_context(http_client(settings, proxy=proxy))


def _now() -> datetime:
    return datetime.now(UTC)


def _split_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    parts = [p.strip() for p in value.split(";")]
    mime = parts[0].lower() or None
    charset = None
    for p in parts[1:]:
        if p.lower().startswith("charset="):
            charset = p.split("=", 1)[1].strip().strip("\"'") or None
    return mime, charset


def fetch_url(
    client: httpx.Client,
    url: str,
    *,
    kind: str,
    max_bytes: int,
    deadline_s: float,
    source_id: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    require_html: bool = False,
) -> Fetched:
    """GET ``url`` and return what happened, as data.

    ``deadline_s`` bounds the whole exchange (a server that trickles bytes is cut);
    ``etag``/``last_modified`` make the request conditional (a 304 has no body).
    """
    started = time.monotonic()
    attempted_at = _now()

    def fail(error_class: str, message: str, status: int | None = None, n: int = 0) -> Fetched:
        return Fetched(
            attempt=FetchAttempt(
                url=url,
                kind=kind,
                ok=False,
                source_id=source_id,
                status=status,
                bytes=n,
                ms=int((time.monotonic() - started) * 1000),
                error_class=error_class,
                error_message=message[:500],
                attempted_at=attempted_at,
            )
        )

    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return fail("invalid_url", f"only http and https URLs are fetched, not {scheme or url!r}")

    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if require_html:
        headers["Accept"] = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"

    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            mime, charset = _split_content_type(response.headers.get("content-type"))
            if status == 304:
                return Fetched(
                    attempt=FetchAttempt(
                        url=url,
                        kind=kind,
                        ok=True,
                        source_id=source_id,
                        status=304,
                        ms=int((time.monotonic() - started) * 1000),
                        attempted_at=attempted_at,
                    ),
                    final_url=str(response.url),
                    etag=etag,
                    last_modified=last_modified,
                    not_modified=True,
                )
            if status >= 400:
                reason = response.reason_phrase or ""
                return fail("http_status", f"HTTP {status} {reason}".strip(), status)
            if require_html and mime and mime not in HTML_TYPES:
                return fail("not_html", f"content type {mime} is not an HTML page", status)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                return fail(
                    "too_large", f"declared {declared} bytes, over the {max_bytes} cap", status
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    return fail("too_large", f"body over the {max_bytes} byte cap", status, size)
                if time.monotonic() - started > deadline_s:
                    return fail("timeout", f"body not complete after {deadline_s:.0f}s", status)
                chunks.append(chunk)
            body = b"".join(chunks)
            return Fetched(
                attempt=FetchAttempt(
                    url=url,
                    kind=kind,
                    ok=True,
                    source_id=source_id,
                    status=status,
                    bytes=size,
                    ms=int((time.monotonic() - started) * 1000),
                    attempted_at=attempted_at,
                ),
                body=body,
                final_url=str(response.url),
                content_type=mime,
                charset=charset,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
    except httpx.TooManyRedirects as exc:
        return fail("too_many_redirects", str(exc))
    except httpx.TimeoutException as exc:
        return fail("timeout", f"{type(exc).__name__}: no answer within {deadline_s:.0f}s")
    except httpx.DecodingError as exc:
        return fail("decode_error", f"content could not be decoded: {exc}")
    except httpx.InvalidURL as exc:
        return fail("invalid_url", str(exc))
    except httpx.UnsupportedProtocol as exc:
        return fail("invalid_url", str(exc))
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        return fail("connect_error", f"{type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:
        return fail("http_error", f"{type(exc).__name__}: {exc}")
