"""The offline snapshot, served as a real HTTP mirror over loopback.

The embedded default reads ``seeds/snapshot/sites/HOST/PATH`` for ``http://HOST/PATH``.
Rather than special-casing those URLs, the fetch steps start this tiny forward proxy on
127.0.0.1 and send their requests through it, so the demo exercises the very same HTTP,
feed and extraction code as a live run (status codes, headers, conditional GET, 404s).
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server for loopback, with a listen backlog for parallel clients.

    The default backlog of 5 drops some of the connects a parallel fetch makes at once, and
    each dropped one waits for Linux's SYN retry (1 s).  The mirror, the tests' servers and
    the benchmark's page server all use this class.
    """

    request_queue_size = 128
    daemon_threads = True


CONTENT_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}


def resolve(sites_dir: Path, url: str) -> Path | None:
    """The snapshot file that answers ``url``, or None (outside the mirror or missing)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return None
    path = unquote(parts.path or "/")
    if path.endswith("/"):
        path += "index.html"
    candidate = (sites_dir / host / path.lstrip("/")).resolve()
    root = sites_dir.resolve()
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def _handler(sites_dir: Path) -> type[BaseHTTPRequestHandler]:
    class MirrorHandler(BaseHTTPRequestHandler):
        server_version = "dyadwatch-mirror"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # quiet: the pipeline's fetch_log records every request

        def do_GET(self) -> None:  # noqa: N802
            url = self.path
            if not url.startswith("http"):
                url = f"http://{self.headers.get('Host', '')}{self.path}"
            found = resolve(sites_dir, url)
            if found is None:
                body = b"<html><body><h1>404 Not Found</h1></body></html>"
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            data = found.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
            modified = email.utils.formatdate(found.stat().st_mtime, usegmt=True)
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            ctype = CONTENT_TYPES.get(found.suffix.lower(), "application/octet-stream")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(data)

    return MirrorHandler


@contextmanager
def serve_mirror(snapshot_dir: Path) -> Iterator[str]:
    """Serve ``snapshot_dir/sites`` as a forward proxy on loopback; yields its proxy URL."""
    server = LoopbackServer(("127.0.0.1", 0), _handler(snapshot_dir / "sites"))
    thread = threading.Thread(target=server.serve_forever, name="dyadwatch-mirror", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
