"""robots.txt for article pages: fetched once per host per run, through our safe client.

What a robots.txt answer means (RFC 9309): 2xx — its rules apply; 4xx (404, 410, even
401/403) — no rules, everything is allowed; 5xx or unreachable — assume everything is
disallowed for this run.  Rules are matched for our User-Agent's product token.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from dyadwatch.records import FetchAttempt
from dyadwatch.settings import Settings
from extractors.http import fetch_url
from extractors.safety import Refusal

ROBOTS_MAX_BYTES = 512_000


class RobotsCache:
    """Per-run cache of each host's robots.txt rules; thread-safe."""

    def __init__(self, client: httpx.Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.agent = settings.user_agent.split("/", 1)[0].strip() or "dyadwatch"
        self.attempts: list[FetchAttempt] = []  # robots.txt fetches, for fetch_log
        self._rules: dict[str, RobotFileParser | bool] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _host_lock(self, origin: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(origin, threading.Lock())

    def _load(self, origin: str) -> RobotFileParser | bool:
        """The parsed rules of ``origin``, or True (allow all) / False (disallow all)."""
        robots_url = origin + "/robots.txt"
        fetched = fetch_url(
            self.client,
            robots_url,
            kind="robots",
            max_bytes=ROBOTS_MAX_BYTES,
            deadline_s=self.settings.http_timeout,
            accept="text/plain, */*;q=0.5",
        )
        status = fetched.attempt.status or 0
        if fetched.ok and fetched.body is not None:
            self.attempts.extend(fetched.attempts)
            parser = RobotFileParser(robots_url)
            parser.parse(fetched.body.decode("utf-8", errors="replace").splitlines())
            return parser
        if 400 <= status < 500:
            # No robots.txt: everything is allowed (the 404 is not a failure worth a row).
            return True
        self.attempts.extend(fetched.attempts)
        return False

    def check(self, url: str) -> Refusal | None:
        """Why robots.txt forbids ``url`` to us, or None when it allows it."""
        parts = urlsplit(url)
        origin = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))
        with self._host_lock(origin):
            if origin not in self._rules:
                self._rules[origin] = self._load(origin)
            rules = self._rules[origin]
        if rules is True:
            return None
        if rules is False:
            return Refusal(
                "robots_disallowed",
                f"{origin}/robots.txt could not be read (server error or unreachable); "
                "its pages are not fetched this run",
            )
        if rules.can_fetch(self.agent, url):
            return None
        return Refusal("robots_disallowed", f"{origin}/robots.txt disallows {url} to us")
