"""Shared fixtures: a real loopback HTTP site, a real Airflow metadata DB, settings.

Airflow reads its configuration when first imported, so this module points it at a
throw-away home before anything imports airflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="dyadwatch-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"

from dyadwatch.settings import WRITER_POOL, Settings  # noqa: E402

# The categories issue #2 requires of the seed article (a digest of Newsweek, Nov 2021).
SEED_CATEGORIES = frozenset(
    {
        "border_security",
        "trade_economy",
        "military_cooperation",
        "diplomacy",
        "multilateral",
        "afghanistan",
    }
)


def corpus_or_skip(path: Path) -> Path:
    """The corpus path, or a skip with the reason outside CI (it must exist in CI)."""
    if path.exists():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{path} is missing in CI; the shared corpus must be beside the repo")
    pytest.skip(f"{path} is absent (the shared corpus is not beside this clone)")


# -- a real HTTP site on loopback -----------------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the first byte
    drip: float = 0.0  # seconds between chunks (a slow-loris server)


class LoopbackSite:
    """A ThreadingHTTPServer whose answers the test sets with ``route()``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                site.requests.append((self.command, self.path, dict(self.headers), payload))
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Route(b"not found", 404, {"Content-Type": "text/plain"})
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    for key, value in route.headers.items():
                        self.send_header(key, value)
                    if route.drip:
                        self.send_header("Content-Length", str(len(route.body)))
                        self.end_headers()
                        for i in range(0, len(route.body), 16):
                            self.wfile.write(route.body[i : i + 16])
                            self.wfile.flush()
                            time.sleep(route.drip)
                        return
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    return

            do_GET = _answer  # noqa: N815
            do_POST = _answer  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, body: bytes | str = b"", status: int = 200, **kw: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        headers = dict(kw.pop("headers", {}) or {})  # type: ignore[arg-type]
        if "content_type" in kw:
            headers["Content-Type"] = str(kw.pop("content_type"))
        self.routes[path] = Route(data, status, headers, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def _site() -> Iterator[LoopbackSite]:
    site = LoopbackSite()
    yield site
    site.close()


@pytest.fixture
def site(_site: LoopbackSite) -> LoopbackSite:
    _site.routes.clear()
    _site.requests.clear()
    return _site


# -- settings and Airflow -------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a live run against loopback, with data in a temporary folder."""
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("", encoding="utf-8")
    return Settings.from_env(
        {
            "DYADWATCH_HOME": str(tmp_path / "data"),
            "DYADWATCH_MODE": "live",
            "DYADWATCH_FEEDS": str(feeds),
            "DYADWATCH_HTTP_TIMEOUT": "3",
            "DYADWATCH_ALLOW_PRIVATE_ADDRESSES": "1",
            "DYADWATCH_LOCK_TIMEOUT": "10",
        }
    )


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB (SQLite) with the writer pool, once per session."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=dict(os.environ),
    )
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(WRITER_POOL, 1, "dyadwatch writer", include_deferred=False)
    return _AIRFLOW_HOME
