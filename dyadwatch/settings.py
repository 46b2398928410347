"""All of dyadwatch's settings, read from ``DYADWATCH_*`` environment variables.

This is the only module that reads the environment.  The defaults run the embedded
offline demo: the seed article plus the feed snapshot in ``seeds/snapshot``, served
over loopback, into ``./data/warehouse.duckdb``.

| variable | default | meaning |
| --- | --- | --- |
| DYADWATCH_HOME | ./data | data directory (warehouse, staged batches, raw pages, alert sink) |
| DYADWATCH_MODE | offline | ``offline``: the bundled snapshot; ``live``: the feeds file |
| DYADWATCH_SEEDS | <repo>/seeds | where the seed articles, feed lists and watch file live |
| DYADWATCH_FEEDS | seeds/feeds.toml | feed list used in live mode (enabled entries only) |
| DYADWATCH_WATCH | seeds/watch.toml | the watch definition: dyad, taxonomy, gazetteer, rules |
| DYADWATCH_HTTP_TIMEOUT | 15 | seconds for one HTTP request, connect to last byte |
| DYADWATCH_HTTP_MAX_BYTES | 5000000 | bytes read from one response before it is cut |
| DYADWATCH_HTTP_MAX_REDIRECTS | 5 | redirects followed |
| DYADWATCH_HTTP_CONCURRENCY | 8 | pages fetched at once |
| DYADWATCH_PER_HOST_CONCURRENCY | 2 | requests in flight to one host at once |
| DYADWATCH_PER_HOST_DELAY | 1.0 | seconds between the starts of two requests to one host |
| DYADWATCH_HTTP_RETRIES | 2 | retries of a transient failure (connect error, timeout, 5xx, 429) |
| DYADWATCH_HTTP_RETRY_BACKOFF | 1.0 | first retry wait in seconds (doubled each time, jittered) |
| DYADWATCH_RETRY_AFTER_MAX | 30 | longest ``Retry-After`` waited; a longer one backs the feed off |
| DYADWATCH_FEED_BACKOFF | 1800 | seconds a feed rests after a failure (doubled per failure) |
| DYADWATCH_FEED_BACKOFF_MAX | 86400 | longest rest of a failing feed, in seconds |
| DYADWATCH_FEED_DISABLE_AFTER | 10 | failures in a row that disable a feed (a 410 at once) |
| DYADWATCH_ROBOTS | 1 | honour robots.txt for article pages |
| DYADWATCH_USER_AGENT | dyadwatch/<version> (+contact) | identifying User-Agent |
| DYADWATCH_CONTACT | (empty) | contact URL or e-mail put in the User-Agent |
| DYADWATCH_ALLOW_PRIVATE_ADDRESSES | 0 | allow URLs on loopback/private hosts (tests) |
| DYADWATCH_ALLOWED_HOSTS | (empty) | hosts exempt from the private-address check |
| DYADWATCH_ALERT_URLS | (empty) | Apprise URLs, whitespace separated; empty: JSON lines sink |
| DYADWATCH_ALERT_CHANNEL_<NAME> | (none) | Apprise URLs of a channel that rules name |
| DYADWATCH_LOCK_TIMEOUT | 120 | seconds a load waits for the warehouse write lock |
| DYADWATCH_EXTRACT_PROCESSES | CPU count | processes extracting pages and tagging (1: no fork) |
| DYADWATCH_STAGING_URL | HOME/staging | where batches are staged: a directory or a URL (s3://...) |
| AIRFLOW_HOME | <repo>/.airflow | Airflow's own home (SQLite metadata DB) for ``dyadwatch run`` |

Airflow reads its own ``AIRFLOW__*`` variables; :meth:`Settings.airflow_environment`
gives the defaults ``dyadwatch run`` sets when they are absent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

VERSION = "0.1.0"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
# Names the DAG files share: the Asset the load publishes and the one-slot writer pool.
WAREHOUSE_ASSET_URI = "dyadwatch://warehouse/articles"
WRITER_POOL = "dyadwatch_warehouse"
CHANNEL_PREFIX = "DYADWATCH_ALERT_CHANNEL_"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    home: Path
    mode: str
    seeds_dir: Path
    feeds_file: Path
    watch_file: Path
    http_timeout: float = 15.0
    http_max_bytes: int = 5_000_000
    http_max_redirects: int = 5
    http_concurrency: int = 8
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    http_retries: int = 2
    http_retry_backoff: float = 1.0
    retry_after_max: float = 30.0
    feed_backoff: float = 1800.0
    feed_backoff_max: float = 86400.0
    feed_disable_after: int = 10
    honour_robots: bool = True
    user_agent: str = f"dyadwatch/{VERSION}"
    contact: str = ""
    allow_private_addresses: bool = False
    allowed_hosts: tuple[str, ...] = ()
    alert_urls: tuple[str, ...] = ()
    alert_channels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lock_timeout: float = 120.0
    airflow_home: Path = PACKAGE_ROOT / ".airflow"
    extract_processes: int = 0  # 0: one per CPU
    staging_url: str = ""  # empty: staging_dir

    # -- derived paths -------------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def staging_location(self) -> str | Path:
        """Where batches are staged: ``staging_url`` when set, else ``staging_dir``."""
        return self.staging_url or self.staging_dir

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def raw_dir(self) -> Path:
        """Raw fetched pages, gzip-compressed, by sha256: ``raw/ab/<sha256>.html.gz``."""
        return self.home / "raw"

    @property
    def alerts_file(self) -> Path:
        return self.home / "alerts.jsonl"

    @property
    def snapshot_dir(self) -> Path:
        return self.seeds_dir / "snapshot"

    @property
    def seed_articles_dir(self) -> Path:
        return self.seeds_dir / "seed"

    @property
    def alert_channel_urls(self) -> dict[str, tuple[str, ...]]:
        """Named alert channels (lower-case name -> Apprise URLs) from the environment."""
        return dict(self.alert_channels)

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def dags_dir(self) -> Path:
        return PACKAGE_ROOT / "dags"

    def airflow_environment(self) -> dict[str, str]:
        """Airflow settings for a project-local run: SQLite DB, our DAGs, no examples."""
        return {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }

    @property
    def offline(self) -> bool:
        return self.mode == "offline"

    @property
    def sources_file(self) -> Path:
        """The feed list this run reads: the snapshot's offline, the user's live."""
        return self.snapshot_dir / "feeds.toml" if self.offline else self.feeds_file

    @property
    def full_user_agent(self) -> str:
        return f"{self.user_agent} (+{self.contact})" if self.contact else self.user_agent

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        seeds = Path(env.get("DYADWATCH_SEEDS") or PACKAGE_ROOT / "seeds").resolve()
        mode = (env.get("DYADWATCH_MODE") or "offline").strip().lower()
        if mode not in {"offline", "live"}:
            raise ValueError(f"DYADWATCH_MODE must be 'offline' or 'live', not {mode!r}")
        return cls(
            home=Path(env.get("DYADWATCH_HOME") or Path.cwd() / "data").resolve(),
            mode=mode,
            seeds_dir=seeds,
            feeds_file=Path(env.get("DYADWATCH_FEEDS") or seeds / "feeds.toml").resolve(),
            watch_file=Path(env.get("DYADWATCH_WATCH") or seeds / "watch.toml").resolve(),
            http_timeout=float(env.get("DYADWATCH_HTTP_TIMEOUT") or 15.0),
            http_max_bytes=int(env.get("DYADWATCH_HTTP_MAX_BYTES") or 5_000_000),
            http_max_redirects=int(env.get("DYADWATCH_HTTP_MAX_REDIRECTS") or 5),
            http_concurrency=int(env.get("DYADWATCH_HTTP_CONCURRENCY") or 8),
            per_host_concurrency=int(env.get("DYADWATCH_PER_HOST_CONCURRENCY") or 2),
            per_host_delay=float(env.get("DYADWATCH_PER_HOST_DELAY") or 1.0),
            http_retries=int(env.get("DYADWATCH_HTTP_RETRIES") or 2),
            http_retry_backoff=float(env.get("DYADWATCH_HTTP_RETRY_BACKOFF") or 1.0),
            retry_after_max=float(env.get("DYADWATCH_RETRY_AFTER_MAX") or 30.0),
            feed_backoff=float(env.get("DYADWATCH_FEED_BACKOFF") or 1800.0),
            feed_backoff_max=float(env.get("DYADWATCH_FEED_BACKOFF_MAX") or 86400.0),
            feed_disable_after=int(env.get("DYADWATCH_FEED_DISABLE_AFTER") or 10),
            honour_robots=_bool(env.get("DYADWATCH_ROBOTS"), default=True),
            user_agent=env.get("DYADWATCH_USER_AGENT") or f"dyadwatch/{VERSION}",
            contact=env.get("DYADWATCH_CONTACT") or "",
            allow_private_addresses=_bool(env.get("DYADWATCH_ALLOW_PRIVATE_ADDRESSES")),
            allowed_hosts=tuple(
                h.lower()
                for h in (env.get("DYADWATCH_ALLOWED_HOSTS") or "").replace(",", " ").split()
            ),
            alert_urls=tuple((env.get("DYADWATCH_ALERT_URLS") or "").split()),
            alert_channels=tuple(
                sorted(
                    (key.removeprefix(CHANNEL_PREFIX).lower(), tuple(value.split()))
                    for key, value in env.items()
                    if key.startswith(CHANNEL_PREFIX) and value.strip()
                )
            ),
            lock_timeout=float(env.get("DYADWATCH_LOCK_TIMEOUT") or 120.0),
            airflow_home=Path(env.get("AIRFLOW_HOME") or PACKAGE_ROOT / ".airflow").resolve(),
            extract_processes=int(env.get("DYADWATCH_EXTRACT_PROCESSES") or 0),
            staging_url=(env.get("DYADWATCH_STAGING_URL") or "").strip(),
        )


def get_settings() -> Settings:
    """The settings of this process, read from the environment now."""
    return Settings.from_env()
