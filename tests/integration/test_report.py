"""``dyadwatch report`` renders a self-contained page whose charts Chromium draws.

The report of the demo warehouse is opened in headless Chromium (Debian's ``chromium``;
``.ci/run`` installs it): the DOM Chromium builds must hold the SVG charts with real
lines, bars and place markers, and a screenshot is kept in build/test-artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO, DemoWarehouse
from warehouse.db import connect
from warehouse.report import gather, render

pytestmark = pytest.mark.airflow

ARTIFACTS = REPO / "build" / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2000",
]


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing in CI; .ci/run installs the Debian package")
    pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


def parse(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    return elements


@pytest.fixture(scope="module")
def report(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    done = demo_warehouse.cli("report", "--output", str(out), "--days", "120")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Report: {out}" in done.stdout
    assert "100%]" in done.stderr  # progress
    return out


def test_the_report_is_self_contained(report: Path) -> None:
    html = report.read_text("utf-8")
    elements = parse(html)
    assert not elements.find("script") and not elements.find("link")
    assert not [a for _, a in elements.tags if "src" in a]  # no images, frames, scripts
    assert "@import" not in html and "url(" not in html
    for section in ("trends", "index", "framing", "spikes", "places", "latest"):
        assert elements.find("h2", id=section), section


def test_the_report_shows_the_warehouse_data(demo_warehouse: DemoWarehouse, report: Path) -> None:
    with connect(demo_warehouse.path, read_only=True) as con:
        data = gather(con, days=120)
        latest_title = con.execute("SELECT title FROM v_relevant_articles LIMIT 1").fetchone()[0]
        top_place = con.execute(
            "SELECT name FROM v_top_entities WHERE kind = 'place' AND lat IS NOT NULL LIMIT 1"
        ).fetchone()[0]
    assert data.weekly and data.index and data.latest and data.places
    assert {row[1] for row in data.framing_weekly} >= {"iran", "pakistan", "third_country"}
    html = report.read_text("utf-8")
    assert render(data).split("Generated")[0] == html.split("Generated")[0]
    assert latest_title.replace("'", "&#x27;") in html
    assert top_place in html
    assert data.evidence  # evidence sentences of the latest stories are shown
    sentence = next(iter(data.evidence.values()))[0][1]
    assert sentence.replace('"', "&quot;").replace("'", "&#x27;")[:40] in html


def test_chromium_draws_the_charts(report: Path, tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    profile = tmp_path / "chromium-profile"
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    elements = parse(dom.stdout)
    charts = elements.find("svg", class_="chart") + elements.find("svg", class_="chart map")
    assert len(charts) >= 4  # trends, index, spikes, places

    lines = [a for a in elements.find("path") if a.get("class") == "series"]
    drawn = [a for a in lines if len(re.findall(r"[ML]", a["d"])) >= 2]
    assert len(drawn) >= 2, "no line with at least two points"
    bars = [a for a in elements.find("rect") if a.get("class") == "bar"]
    assert bars and all(float(a["width"]) > 0 for a in bars)
    places = [a for a in elements.find("circle") if a.get("class") == "place"]
    assert places and all(float(a["r"]) > 0 for a in places)
    days = [a for a in elements.find("circle") if a.get("class") == "day"]
    assert days  # the daily cooperation-conflict points

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}"]
        + [report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page with charts, not a blank one


def test_an_empty_warehouse_gives_a_page_that_says_so(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        html = render(gather(con))
    assert "no relevant articles yet" in html
