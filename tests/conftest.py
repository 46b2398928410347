"""Shared fixtures: a real loopback HTTP site, a real Airflow metadata DB, settings.

Airflow reads its configuration when first imported, so this module points it at a
throw-away home before anything imports airflow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"

# One Airflow home per test session.  Test modules import this file as ``tests.conftest``
# while pytest loads it as ``conftest``: the second import must reuse the first's home,
# or the session's migrated DB and AIRFLOW_HOME drift apart.
_AIRFLOW_HOME = Path(
    os.environ.get("DYADWATCH_TEST_AIRFLOW_HOME") or tempfile.mkdtemp(prefix="dyadwatch-airflow-")
)
os.environ["DYADWATCH_TEST_AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"

from dyadwatch.settings import WRITER_POOL, Settings  # noqa: E402
from extractors.mirror import LoopbackServer  # noqa: E402

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


def copy_of_watch(directory: Path, text: str | None = None) -> Path:
    """The bundled watch file (or ``text`` in its place) as ``directory/watch.toml``, with the
    learned model it names copied beside it."""
    seeds = REPO / "seeds"
    watch = directory / "watch.toml"
    watch.write_text(text or (seeds / "watch.toml").read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(seeds / "tagger_model.json", directory / "tagger_model.json")
    return watch


# -- a real HTTP site on loopback -----------------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the first byte
    drip: float = 0.0  # seconds between chunks (a slow-loris server)
    then: list[Route] = field(default_factory=list)  # answers of the following requests


class LoopbackSite:
    """A loopback HTTP server whose answers the test sets with ``route()``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                site.requests.append((self.command, self.path, dict(self.headers), payload))
                key = self.path if self.path in site.routes else self.path.split("?")[0]
                route = site.routes.get(key)
                if route is not None and route.then:  # a sequence: answer once, move on
                    site.routes[key] = route.then[0]
                    route.then[0].then = route.then[1:] + route.then[0].then
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

        self.server = LoopbackServer(("127.0.0.1", 0), Handler)
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
            "DYADWATCH_PER_HOST_DELAY": "0",
            "DYADWATCH_HTTP_RETRY_BACKOFF": "0.05",
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


# -- a real alert receiver (Apprise json:// posts to it) --------------------------------


class Receiver:
    """A loopback HTTP server that records POST bodies; answers ``status``, or 500 while
    ``fail_next`` is above zero (counting down)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.accepted: list[dict] = []
        self.paths: list[str] = []
        self.status = 200
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                receiver.paths.append(self.path)
                receiver.bodies.append(body)
                status = receiver.status
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = 500
                if status < 300:
                    receiver.accepted.append(body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = LoopbackServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hooks/dyadwatch"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


# -- the demo warehouse: the real pipeline, once per session --------------------------


@dataclass
class DemoWarehouse:
    """A warehouse built by ``dyadwatch run`` on the offline snapshot."""

    home: Path
    env: dict[str, str]

    @property
    def path(self) -> Path:
        return self.home / "warehouse.duckdb"

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``dyadwatch ARGS`` against this warehouse, as a user would."""
        return subprocess.run(
            [sys.executable, "-m", "dyadwatch.cli", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> DemoWarehouse:
    """``dyadwatch run`` (real Airflow DAG runs) on the offline demo, in a temporary home."""
    root = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYADWATCH_")}
    env["DYADWATCH_HOME"] = str(root / "data")
    env["AIRFLOW_HOME"] = str(root / "airflow")
    demo = DemoWarehouse(home=root / "data", env=env)
    run = demo.cli("run", timeout=900)
    if run.returncode != 0 or not demo.path.exists():
        pytest.fail(f"dyadwatch run failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return demo
