"""HTTP fetching that survives the real web: limits, politeness, retries, safety.

Every fetch returns a :class:`Fetched` whose ``attempt`` is the ``fetch_log`` row (and
``earlier`` the rows of attempts that were retried); a bad response (timeout, 404, too
large, not HTML, a private address, ...) is a recorded failure, never an exception.

What :func:`fetch_url` guarantees:

- only http/https, and (unless allowed) no host resolving to a private, loopback,
  link-local or metadata address — checked again on every redirect hop, because
  redirects are followed here, by hand, at most ``http_max_redirects`` times; and
  checked once more where it counts, at connect time, on the address the socket
  actually connects to (:class:`~extractors.safety.VettedNetworkBackend`), so a name
  whose DNS answer changes between the check and the connection (DNS rebinding)
  is still refused;
- the body is streamed and cut at ``max_bytes`` both as sent (compressed) and as
  decompressed (gzip/deflate are inflated here with a cap, so a compression bomb
  stops at the cap instead of filling memory);
- one deadline (``deadline_s``) bounds the whole fetch — slots, redirects, retries,
  waits and a server that trickles bytes (each read may wait at most the time left);
- politeness: a per-host concurrency limit and minimum delay (``HostLimiter``);
- retries with jittered exponential back-off on transient failures only (connect
  errors, timeouts, 5xx, 429), and ``Retry-After`` honoured when it is short enough;
  a longer one is returned in ``Fetched.retry_after`` for the caller to back off.
"""

from __future__ import annotations

import email.utils
import random
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from dyadwatch.records import FetchAttempt
from dyadwatch.settings import Settings
from extractors.politeness import HostLimiter
from extractors.safety import BlockedAddressError, VettedNetworkBackend, check_url

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TRANSIENT_ERRORS = frozenset({"connect_error", "timeout"})


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
    retry_after: float | None = None  # seconds the server asked us to wait (429/503)
    earlier: list[FetchAttempt] = field(default_factory=list)  # attempts retried

    @property
    def ok(self) -> bool:
        return self.attempt.ok

    @property
    def attempts(self) -> list[FetchAttempt]:
        """Every fetch_log row of this fetch, retried attempts first."""
        return [*self.earlier, self.attempt]


@dataclass
class FetchPolicy:
    """How a client fetches: the settings it checks URLs against and its host limiter."""

    settings: Settings | None
    limiter: HostLimiter
    max_redirects: int = 5
    retries: int = 2
    retry_backoff: float = 1.0
    retry_after_max: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        # The offline mirror is our own loopback server: no need to be polite to it.
        delay = 0.0 if settings.offline else settings.per_host_delay
        return cls(
            settings=settings,
            limiter=HostLimiter(settings.per_host_concurrency, delay),
            max_redirects=settings.http_max_redirects,
            retries=settings.http_retries,
            retry_backoff=settings.http_retry_backoff,
            retry_after_max=settings.retry_after_max,
        )


class FetchClient(httpx.Client):
    """An httpx client that carries its :class:`FetchPolicy` (redirects are ours)."""

    def __init__(self, policy: FetchPolicy, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.policy = policy


class VettedTransport(httpx.HTTPTransport):
    """httpx's transport whose connections go through :class:`VettedNetworkBackend`."""

    def __init__(self, settings: Settings | None) -> None:
        # Not super().__init__(): all it does is build the pool replaced here (and load
        # the CA bundle for it, ~20 ms).  handle_request/close use only self._pool.
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=VettedNetworkBackend(settings),
        )


@contextmanager
def http_client(settings: Settings, *, proxy: str | None = None) -> Iterator[FetchClient]:
    """An httpx client set up from the settings (User-Agent, timeouts, politeness)."""
    # Through a proxy (the offline mirror on loopback) the proxy connects onwards; direct
    # connections are vetted at connect time.
    transport = None if proxy else VettedTransport(settings)
    client = FetchClient(
        FetchPolicy.from_settings(settings),
        transport=transport,
        headers={"User-Agent": settings.full_user_agent, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(settings.http_timeout),
        follow_redirects=False,
        proxy=proxy,
        trust_env=False,
    )
    try:
        yield client
    finally:
        client.close()


@contextmanager
def run_client(settings: Settings) -> Iterator[FetchClient]:
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


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or _now())).total_seconds())


class _Inflater:
    """gzip/deflate decompression that never produces more than it is allowed to."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # 47 = auto-detect a gzip or zlib header; raw deflate is tried if that fails.
        self._obj = zlib.decompressobj(47)
        self._started = False

    def feed(self, data: bytes, limit: int) -> tuple[bytes, bool]:
        """Up to ``limit`` decompressed bytes of ``data``; True when more was pending."""
        try:
            out = self._obj.decompress(data, max(1, limit))
        except zlib.error:
            if self._started or self.encoding != "deflate":
                raise
            self._obj = zlib.decompressobj(-15)
            out = self._obj.decompress(data, max(1, limit))
        self._started = True
        return out, bool(self._obj.unconsumed_tail)

    def flush(self) -> bytes:
        return self._obj.flush()


class _Clock:
    """The fetch's deadline, which starts when its first request may start (waiting
    for a politeness slot is not the server's time)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline: float | None = None

    def start(self) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.seconds


class _Failure(Exception):
    def __init__(self, error_class: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status


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
    accept: str | None = None,
) -> Fetched:
    """GET ``url`` and return what happened, as data (see the module docstring).

    ``etag``/``last_modified`` make the request conditional (a 304 has no body).  A
    plain ``httpx.Client`` (not from :func:`http_client`) gets the strictest policy.
    """
    policy: FetchPolicy = getattr(client, "policy", None) or FetchPolicy(
        settings=None, limiter=HostLimiter(2, 0.0)
    )
    clock = _Clock(deadline_s)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if require_html:
        headers["Accept"] = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
    elif accept:
        headers["Accept"] = accept
    earlier: list[FetchAttempt] = []
    retry = 0
    while True:
        fetched = _fetch_once(
            client, policy, url, kind, max_bytes, clock, source_id, headers, require_html
        )  # fmt: skip
        wait = _retry_wait(fetched, policy, retry, clock.deadline)
        if wait is None:
            fetched.earlier = earlier
            return fetched
        earlier.append(fetched.attempt)
        if fetched.retry_after is not None:
            policy.limiter.hold_off((urlsplit(url).hostname or "").lower(), wait)
        time.sleep(wait)
        retry += 1


def _retry_wait(
    fetched: Fetched, policy: FetchPolicy, retry: int, deadline: float | None
) -> float | None:
    """Seconds to wait before trying again, or None when this outcome is final."""
    attempt = fetched.attempt
    if attempt.ok or retry >= policy.retries:
        return None
    status = attempt.status or 0
    transient = attempt.error_class in TRANSIENT_ERRORS or (
        attempt.error_class == "http_status" and (status >= 500 or status == 429)
    )
    if not transient:
        return None
    if fetched.retry_after is not None:
        if fetched.retry_after > policy.retry_after_max:
            return None  # too long to wait in this run: the caller backs off
        wait = fetched.retry_after
    else:
        wait = policy.retry_backoff * (2**retry) * random.uniform(0.5, 1.5)
    # Only when the wait leaves time for another try within the deadline.
    if deadline is None or time.monotonic() + wait + 0.05 >= deadline:
        return None
    return wait


def _fetch_once(
    client: httpx.Client,
    policy: FetchPolicy,
    url: str,
    kind: str,
    max_bytes: int,
    clock: _Clock,
    source_id: str | None,
    headers: dict[str, str],
    require_html: bool,
) -> Fetched:
    """One attempt: follow redirects by hand, checking every hop; read the body capped."""
    started = time.monotonic()
    attempted_at = _now()
    state = {"bytes": 0, "retry_after": None}

    def attempt(ok: bool, status: int | None, **extra: object) -> FetchAttempt:
        return FetchAttempt(
            url=url,
            kind=kind,
            ok=ok,
            source_id=source_id,
            status=status,
            bytes=int(state["bytes"] or 0),
            ms=int((time.monotonic() - started) * 1000),
            attempted_at=attempted_at,
            **extra,  # type: ignore[arg-type]
        )

    deadline_s = clock.seconds

    def remaining() -> float:
        left = (clock.deadline or 0.0) - time.monotonic()
        if left <= 0:
            raise _Failure("timeout", f"not complete within the {deadline_s:g}s deadline")
        return left

    current = url
    seen = {url}
    try:
        for hop in range(policy.max_redirects + 1):
            refusal = check_url(current, policy.settings)
            if refusal:
                where = "" if hop == 0 else f" (redirect hop {hop}: {current})"
                raise _Failure(refusal.error_class, refusal.message + where)
            host = (urlsplit(current).hostname or "").lower()
            with policy.limiter.slot(host, deadline=clock.deadline):
                clock.start()
                timeout = httpx.Timeout(remaining())
                with client.stream("GET", current, headers=headers, timeout=timeout) as response:
                    status = response.status_code
                    location = response.headers.get("location")
                    if status in REDIRECT_STATUSES and location:
                        target = urljoin(str(response.url), location.strip())
                        if target in seen:
                            raise _Failure(
                                "redirect_loop", f"redirect loop: {current} -> {target}", status
                            )
                        if hop == policy.max_redirects:
                            raise _Failure(
                                "too_many_redirects",
                                f"more than {policy.max_redirects} redirects (last: {target})",
                                status,
                            )
                        seen.add(target)
                        current = target
                        continue
                    if status == 304:
                        return Fetched(
                            attempt=attempt(True, 304),
                            final_url=current,
                            etag=headers.get("If-None-Match"),
                            last_modified=headers.get("If-Modified-Since"),
                            not_modified=True,
                        )
                    if status >= 400:
                        if status in (429, 503):
                            state["retry_after"] = parse_retry_after(
                                response.headers.get("retry-after")
                            )
                        reason = response.reason_phrase or ""
                        raise _Failure("http_status", f"HTTP {status} {reason}".strip(), status)
                    mime, charset = _split_content_type(response.headers.get("content-type"))
                    if require_html and mime and mime not in HTML_TYPES:
                        raise _Failure(
                            "not_html", f"content type {mime} is not an HTML page", status
                        )
                    declared = response.headers.get("content-length")
                    encoding = (response.headers.get("content-encoding") or "").strip().lower()
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise _Failure(
                            "too_large", f"declared {declared} bytes, over the {max_bytes} cap",
                            status,
                        )  # fmt: skip
                    body = _read_body(response, encoding, max_bytes, state, remaining, status)
                    return Fetched(
                        attempt=attempt(True, status),
                        body=body,
                        final_url=str(response.url),
                        content_type=mime,
                        charset=charset,
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                    )
        raise AssertionError("unreachable: the redirect loop returns or raises")
    except _Failure as exc:
        failure = Fetched(
            attempt=attempt(
                False, exc.status, error_class=exc.error_class, error_message=exc.message[:500]
            ),
            final_url=current,
            retry_after=state["retry_after"],  # type: ignore[arg-type]
        )
        return failure
    except BlockedAddressError as exc:  # refused at connect time (e.g. DNS rebinding)
        hop = "" if current == url else f" (redirect to {current})"
        error = ("blocked_address", f"{exc}{hop}")
    except TimeoutError as exc:  # the host limiter's wait passed the deadline
        error = ("timeout", f"waited for a free slot past the deadline: {exc}")
    except httpx.TimeoutException as exc:
        error = ("timeout", f"{type(exc).__name__}: no answer within the {deadline_s:g}s deadline")
    except (httpx.DecodingError, zlib.error) as exc:
        error = ("decode_error", f"content could not be decoded: {exc}")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        error = ("invalid_url", str(exc))
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        error = ("connect_error", f"{type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:
        error = ("http_error", f"{type(exc).__name__}: {exc}")
    return Fetched(
        attempt=attempt(False, None, error_class=error[0], error_message=error[1][:500]),
        final_url=current,
    )


def _read_body(
    response: httpx.Response,
    encoding: str,
    max_bytes: int,
    state: dict[str, object],
    remaining: object,
    status: int,
) -> bytes:
    """The body, decompressed here under the cap, within the deadline."""
    if encoding in ("", "identity"):
        inflater = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater("deflate" if encoding == "deflate" else "gzip")
    else:
        raise _Failure("decode_error", f"unsupported content-encoding {encoding!r}", status)
    chunks: list[bytes] = []
    raw_size = 0
    size = 0
    for raw in response.iter_raw():  # as received: a chunk size would wait to fill it
        raw_size += len(raw)
        state["bytes"] = raw_size
        if raw_size > max_bytes:
            raise _Failure("too_large", f"body over the {max_bytes} byte cap", status)
        remaining()  # type: ignore[operator]
        if inflater is None:
            data, more = raw, False
        else:
            data, more = inflater.feed(raw, max_bytes - size + 1)
        size += len(data)
        if size > max_bytes or more:
            raise _Failure(
                "too_large",
                f"body decompresses past the {max_bytes} byte cap ({raw_size} bytes sent)",
                status,
            )
        chunks.append(data)
    if inflater is not None:
        tail = inflater.flush()
        if size + len(tail) > max_bytes:
            raise _Failure("too_large", f"body decompresses past the {max_bytes} cap", status)
        chunks.append(tail)
    return b"".join(chunks)
