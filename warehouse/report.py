"""``dyadwatch report``: one self-contained HTML page with the trends at a glance.

Everything is inline (CSS, and the charts as SVG drawn here, server-side): the file can
be mailed, archived or opened offline, and needs no JavaScript nor any CDN.  Sections:

1. signal trends: weekly signals of the busiest categories (line chart);
2. the cooperation-conflict index per day with its 7-day pooled line;
3. spikes: category-days far above their trailing 28-day baseline (bars of z, table);
4. places: the gazetteer's coordinates of the places named, as a simple map and a table;
5. the latest relevant stories with their evidence sentences.

The period is the ``days`` days up to the warehouse's latest article day (not today:
a report of an old warehouse still shows its data).  Reads through a read-only
connection only.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from dyadwatch.settings import Settings
from warehouse.db import connect

SELECT_LAST_DAY = "SELECT max(day) FROM stg_articles WHERE relevant"
SELECT_TOTALS = """
SELECT count(*) AS n_articles, count(DISTINCT outlet) AS n_outlets,
       (SELECT count(*) FROM stg_signals WHERE relevant AND day BETWEEN $since AND $until)
FROM stg_articles
WHERE relevant AND day BETWEEN $since AND $until
"""
SELECT_TOP_CATEGORIES = """
SELECT category, sum(n_signals) AS n
FROM v_signals_weekly
WHERE week BETWEEN date_trunc('week', $since::DATE) AND $until
GROUP BY category
ORDER BY n DESC, category
LIMIT $limit
"""
SELECT_WEEKLY = """
SELECT week, category, n_signals
FROM v_signals_weekly
WHERE week BETWEEN date_trunc('week', $since::DATE) AND $until
  AND list_contains($categories, category)
ORDER BY week, category
"""
SELECT_WEEKS = """
SELECT CAST(unnest(generate_series(date_trunc('week', $since::DATE),
                                   date_trunc('week', $until::DATE), INTERVAL 7 DAY)) AS DATE)
"""
SELECT_INDEX = """
SELECT day, coop_conflict_index, index_7d, n_articles
FROM v_cooperation_conflict_daily
WHERE day BETWEEN $since AND $until
ORDER BY day
"""
SELECT_SPIKES = """
SELECT day, category, n_signals, baseline_mean, z
FROM v_signal_spikes
WHERE is_spike AND day BETWEEN $since AND $until
ORDER BY z DESC, day DESC, category
LIMIT $limit
"""
SELECT_PLACES = """
SELECT name, country, entity_type, lat, lon, n_articles, n_mentions, last_day
FROM v_top_entities
WHERE kind = 'place'
ORDER BY n_articles DESC, n_mentions DESC, name
LIMIT $limit
"""
SELECT_LATEST = """
SELECT article_id, day, outlet, outlet_country, title, url, tone, tone_score, categories
FROM v_relevant_articles
WHERE day <= $until
LIMIT $limit
"""
SELECT_EVIDENCE = """
SELECT article_id, category, evidence
FROM signals
WHERE list_contains($ids, article_id)
QUALIFY row_number() OVER (PARTITION BY article_id, category ORDER BY score DESC, start) = 1
    AND row_number() OVER (PARTITION BY article_id ORDER BY score DESC, category) <= $per_article
ORDER BY article_id, category
"""

# Each side's framing (v_framing_weekly, v_story_framing): weeks of the period, and the
# stories told by outlets of two or more sides, most recent first.
SELECT_FRAMING_WEEKLY = """
SELECT week, outlet_side, n_articles, share, mean_tone, coop_conflict_index,
       n_shared_stories, mean_tone_shared
FROM v_framing_weekly
WHERE week BETWEEN date_trunc('week', $since::DATE) AND $until
ORDER BY week DESC, outlet_side
LIMIT $limit
"""
SELECT_FRAMING_STORIES = """
SELECT first_day, title, n_iran, mean_tone_iran, n_pakistan, mean_tone_pakistan,
       n_third_country, mean_tone_third_country, framing
FROM v_story_framing
WHERE n_sides >= 2 AND first_day BETWEEN $since AND $until
ORDER BY first_day DESC, story_id
LIMIT $limit
"""

PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
]
COOPERATION = "#2ca02c"
CONFLICT = "#d62728"


@dataclass
class ReportData:
    generated_at: datetime
    since: date | None
    until: date | None
    totals: tuple[int, int, int]
    weeks: list[date]
    weekly: dict[str, list[int]]  # category -> signals per week (aligned with weeks)
    index: list[tuple[date, float | None, float | None, int]]
    spikes: list[tuple[date, str, int, float, float]]
    places: list[tuple]
    latest: list[tuple]
    evidence: dict[str, list[tuple[str, str]]]  # article_id -> [(category, sentence)]
    framing_weekly: list[tuple] = field(default_factory=list)  # v_framing_weekly rows
    framing_stories: list[tuple] = field(default_factory=list)  # v_story_framing, 2+ sides


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def gather(
    con: duckdb.DuckDBPyConnection,
    *,
    days: int = 90,
    categories: int = 6,
    places: int = 25,
    latest: int = 12,
    now: datetime | None = None,
) -> ReportData:
    """Read what the report shows from an open (read-only) connection."""
    until = con.execute(SELECT_LAST_DAY).fetchone()[0]
    generated_at = now or datetime.now(UTC)
    if until is None:
        return ReportData(generated_at, None, None, (0, 0, 0), [], {}, [], [], [], [], {})
    since = until - timedelta(days=days - 1)
    period = {"since": since, "until": until}
    totals = con.execute(SELECT_TOTALS, period).fetchone()
    top = [r[0] for r in _rows(con, SELECT_TOP_CATEGORIES, period | {"limit": categories})]
    weeks = [r[0] for r in _rows(con, SELECT_WEEKS, period)]
    weekly = {category: [0] * len(weeks) for category in top}
    position = {week: i for i, week in enumerate(weeks)}
    for week, category, n in _rows(con, SELECT_WEEKLY, period | {"categories": top}):
        weekly[category][position[week]] = n
    index = _rows(con, SELECT_INDEX, period)
    spikes = _rows(con, SELECT_SPIKES, period | {"limit": 15})
    place_rows = _rows(con, SELECT_PLACES, {"limit": places})
    latest_rows = _rows(con, SELECT_LATEST, {"until": until, "limit": latest})
    evidence: dict[str, list[tuple[str, str]]] = {}
    ids = [r[0] for r in latest_rows]
    for article_id, category, sentence in _rows(
        con, SELECT_EVIDENCE, {"ids": ids, "per_article": 3}
    ):
        evidence.setdefault(article_id, []).append((category, sentence))
    framing_weekly = _rows(con, SELECT_FRAMING_WEEKLY, period | {"limit": 40})
    framing_stories = _rows(con, SELECT_FRAMING_STORIES, period | {"limit": 15})
    return ReportData(
        generated_at,
        since,
        until,
        tuple(totals),
        weeks,
        weekly,
        index,
        spikes,
        place_rows,
        latest_rows,
        evidence,
        framing_weekly,
        framing_stories,
    )


# -- SVG charts ---------------------------------------------------------------------------

WIDTH, HEIGHT = 900, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 50, 160, 15, 35


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _date_ticks(first: date, last: date, n: int = 6) -> list[date]:
    span = max((last - first).days, 1)
    step = max(span // n, 1)
    return [first + timedelta(days=d) for d in range(0, span + 1, step)]


def line_chart(
    x: Sequence[date],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    y_min: float | None = None,
    y_max: float | None = None,
    colors: dict[str, str] | None = None,
    points: bool = False,
) -> str:
    """Lines over dates; None values break a line.  Returns an <svg> element."""
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    values = [v for s in series.values() for v in s if v is not None]
    lo = y_min if y_min is not None else min([0.0, *values])
    hi = y_max if y_max is not None else _nice_max(max(values, default=1.0))
    first, last = x[0], x[-1]
    span = max((last - first).days, 1)

    def px(day: date) -> float:
        return MARGIN_LEFT + plot_w * (day - first).days / span

    def py(value: float) -> float:
        return MARGIN_TOP + plot_h * (1 - (value - lo) / ((hi - lo) or 1))

    parts = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_e(title)}</title>",
    ]
    for i in range(5):  # horizontal grid and y labels
        value = lo + (hi - lo) * i / 4
        y = py(value)
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{value:g}</text>"
        )
    for day in _date_ticks(first, last):
        parts.append(
            f'<text class="tick" x="{px(day):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
            f"{day:%d %b %y}</text>"
        )
    if lo < 0 < hi:
        parts.append(
            f'<line class="zero" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" '
            f'y1="{py(0):.1f}" y2="{py(0):.1f}"/>'
        )
    for n, (name, ys) in enumerate(series.items()):
        color = (colors or {}).get(name, PALETTE[n % len(PALETTE)])
        segments: list[list[str]] = [[]]
        for day, value in zip(x, ys, strict=True):
            if value is None:
                segments.append([])
                continue
            segments[-1].append(f"{px(day):.1f},{py(value):.1f}")
        d = " ".join("M" + " L".join(seg) for seg in segments if seg)
        if d:
            parts.append(
                f'<path class="series" data-series="{_e(name)}" d="{d}" fill="none" '
                f'stroke="{color}" stroke-width="2"/>'
            )
        if points:
            for day, value in zip(x, ys, strict=True):
                if value is not None:
                    parts.append(
                        f'<circle cx="{px(day):.1f}" cy="{py(value):.1f}" r="3" '
                        f'fill="{color}" fill-opacity="0.6"/>'
                    )
        legend_y = MARGIN_TOP + 14 + 18 * n
        parts.append(
            f'<rect x="{WIDTH - MARGIN_RIGHT + 12}" y="{legend_y - 9}" width="12" height="10" '
            f'fill="{color}"/><text class="legend" x="{WIDTH - MARGIN_RIGHT + 30}" '
            f'y="{legend_y}">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str) -> str:
    """Horizontal bars, one per label.  Returns an <svg> element."""
    row_h, label_w, width = 22, 280, WIDTH
    height = MARGIN_TOP + row_h * len(labels) + 10
    hi = _nice_max(max(values, default=1.0))
    plot_w = width - label_w - 60
    parts = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_e(title)}</title>",
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN_TOP + i * row_h
        w = max(plot_w * value / hi, 1.0)
        parts.append(
            f'<text class="tick" x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
            f"{_e(label)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}"'
            f' fill="{PALETTE[1]}"/>'
            f'<text class="tick" x="{label_w + w + 6:.1f}" y="{y + 15}">{value:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def place_map(places: Sequence[tuple], *, title: str) -> str:
    """Places as circles on their lon/lat (equirectangular, fitted to the points)."""
    located = [p for p in places if p[3] is not None and p[4] is not None]
    width, height, pad = 900, 420, 40
    parts = [
        f'<svg class="chart map" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>'
        f'<rect class="sea" x="0" y="0" width="{width}" height="{height}"/>'
    ]
    if located:
        lats = [p[3] for p in located]
        lons = [p[4] for p in located]
        lat_lo, lat_hi = min(lats) - 1, max(lats) + 1
        lon_lo, lon_hi = min(lons) - 1, max(lons) + 1
        scale = min((width - 2 * pad) / (lon_hi - lon_lo), (height - 2 * pad) / (lat_hi - lat_lo))
        most = max(p[5] for p in located) or 1
        for lon in range(math.ceil(lon_lo), math.floor(lon_hi) + 1, 2):
            x = pad + (lon - lon_lo) * scale
            parts.append(
                f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}"/>'
                f'<text class="tick" x="{x + 2:.1f}" y="{height - 4}">{lon}°E</text>'
            )
        for lat in range(math.ceil(lat_lo), math.floor(lat_hi) + 1, 2):
            y = pad + (lat_hi - lat) * scale
            parts.append(
                f'<line class="grid" x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="tick" x="2" y="{y - 2:.1f}">{lat}°N</text>'
            )
        for name, country, _type, lat, lon, n_articles, *_ in located:
            x = pad + (lon - lon_lo) * scale
            y = pad + (lat_hi - lat) * scale
            r = 4 + 14 * math.sqrt(n_articles / most)
            color = {"IR": "#1f77b4", "PK": "#2ca02c", "AF": "#ff7f0e"}.get(country, "#7f7f7f")
            parts.append(
                f'<circle class="place" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{color}" '
                f'fill-opacity="0.55" stroke="{color}"><title>{_e(name)}: {n_articles} '
                f"articles</title></circle>"
                f'<text class="label" x="{x + r + 2:.1f}" y="{y + 4:.1f}">{_e(name)}</text>'
            )
    else:
        parts.append(
            f'<text class="tick" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
            "no places with coordinates yet</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


# -- the page -------------------------------------------------------------------------------

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 960px; color: #222; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.muted { color: #666; } .chart { max-width: 100%; height: auto; }
.grid { stroke: #e5e5e5; stroke-width: 1; } .zero { stroke: #999; stroke-dasharray: 4 3; }
.tick, .legend, .label { font-size: 11px; fill: #444; } .sea { fill: #f3f7fb; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #fafafa; } td.num { text-align: right; }
.story { margin: 14px 0; } .story h3 { font-size: 15px; margin: 0 0 2px; }
.evidence { margin: 4px 0 0 0; padding-left: 18px; }
.cat { display: inline-block; background: #eef; border-radius: 3px; padding: 0 5px;
       font-size: 12px; margin-right: 4px; }
.tone-cooperation { color: #2ca02c; } .tone-conflict { color: #d62728; }
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(data: ReportData, *, title: str = "dyadwatch report") -> str:
    """The HTML page for ``data``."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    if data.until is None:
        out.append("<p>The warehouse has no relevant articles yet: run the ingest first.</p>")
        out.append("</body></html>")
        return "\n".join(out)
    n_articles, n_outlets, n_signals = data.totals
    out.append(
        f'<p class="muted">{data.since:%d %b %Y} – {data.until:%d %b %Y}: {n_articles} '
        f"relevant articles from {n_outlets} outlets, {n_signals} signals. Generated "
        f"{data.generated_at:%Y-%m-%d %H:%M} UTC.</p>"
    )

    out.append('<h2 id="trends">Signal trends (weekly, busiest categories)</h2>')
    if data.weekly and len(data.weeks) > 1:
        out.append(line_chart(data.weeks, data.weekly, title="Signals per week", points=True))
    else:
        out.append("<p>Not enough weeks of signals for a trend yet.</p>")

    out.append('<h2 id="index">Cooperation–conflict index</h2>')
    out.append(
        '<p class="muted">Per day: (cooperation − conflict articles) / (both); +1 all '
        "cooperation, −1 all conflict. Dots: single days; line: pooled over 7 days.</p>"
    )
    days = [row[0] for row in data.index]
    if len(days) > 1:
        out.append(
            line_chart(
                days,
                {
                    "7-day index": [row[2] for row in data.index],
                    "daily index": [None] * len(days),
                },
                title="Cooperation-conflict index",
                y_min=-1,
                y_max=1,
                colors={"7-day index": "#444", "daily index": COOPERATION},
            ).replace(
                "</svg>",
                "".join(
                    _index_dot(days[0], days[-1], day, value)
                    for day, value, _, _ in data.index
                    if value is not None
                )
                + "</svg>",
            )
        )
    else:
        out.append("<p>Not enough days for the index yet.</p>")

    out.extend(_framing_section(data))

    out.append('<h2 id="spikes">Spikes</h2>')
    out.append(
        '<p class="muted">Category-days at least 2 standard deviations above the '
        "trailing 28-day baseline (at least 3 signals; see v_signal_spikes).</p>"
    )
    if data.spikes:
        labels = [f"{day:%d %b %Y} · {category}" for day, category, *_ in data.spikes]
        out.append(bar_chart(labels, [float(s[4]) for s in data.spikes], title="Spike z-scores"))
        out.append(
            _table(
                ["day", "category", "signals", "baseline mean", "z"],
                [(d, c, n, m, z) for d, c, n, m, z in data.spikes],
                {2, 3, 4},
            )
        )
    else:
        out.append("<p>No spikes in this period.</p>")

    out.append('<h2 id="places">Places named</h2>')
    out.append(place_map(data.places, title="Places named in relevant coverage"))
    out.append(
        _table(
            ["place", "country", "type", "lat", "lon", "articles", "mentions", "last seen"],
            data.places,
            {3, 4, 5, 6},
        )
    )

    out.append('<h2 id="latest">Latest relevant stories</h2>')
    for article_id, day, outlet, country, title_, url, tone, tone_score, cats in data.latest:
        tone_class = f"tone-{tone}" if tone in ("cooperation", "conflict") else ""
        out.append(
            f'<div class="story" id="a-{_e(article_id)}"><h3><a href="{_e(url)}">'
            f"{_e(title_ or url)}</a></h3>"
            f'<div class="muted">{day:%d %b %Y} · {_e(outlet)} ({_e(country)}) · '
            f'<span class="{tone_class}">{_e(tone)} {tone_score:+.1f}</span> · '
            + "".join(f'<span class="cat">{_e(c)}</span>' for c in cats)
            + "</div>"
        )
        evidence = data.evidence.get(article_id) or []
        if evidence:
            out.append(
                '<ul class="evidence">'
                + "".join(f"<li><b>{_e(c)}</b>: {_e(s)}</li>" for c, s in evidence)
                + "</ul>"
            )
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def _tone(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _framing_section(data: ReportData) -> list[str]:
    """Volume and tone in Iranian, Pakistani and third-country outlets, per week and per
    story told by two or more sides."""
    out = ['<h2 id="framing">Each side\'s framing</h2>']
    out.append(
        '<p class="muted">Relevant coverage by the country of the outlet (iran, pakistan, '
        "third_country; unknown: no country on record). Tone: mean article tone, −10 "
        "conflict … +10 cooperation; shared: stories another side's outlets told too "
        "(v_framing_weekly, v_story_framing).</p>"
    )
    if not data.framing_weekly:
        out.append("<p>No relevant coverage in this period.</p>")
        return out
    out.append(
        _table(
            ["week", "outlets of", "articles", "share", "tone", "index", "shared", "tone (shared)"],
            [
                (week, side, n, share, _tone(tone), _tone(index), n_shared, _tone(tone_shared))
                for week, side, n, share, tone, index, n_shared, tone_shared in data.framing_weekly
            ],
            {2, 3, 4, 5, 6, 7},
        )
    )
    if data.framing_stories:
        out.append("<h3>Stories told by more than one side</h3>")
        out.append(
            _table(
                [
                    "first day",
                    "story",
                    "Iran",
                    "tone",
                    "Pakistan",
                    "tone",
                    "third",
                    "tone",
                    "framing",
                ],
                [
                    (day, title, n_ir, _tone(t_ir), n_pk, _tone(t_pk), n_3, _tone(t_3), framing)
                    for (day, title, n_ir, t_ir, n_pk, t_pk, n_3, t_3, framing) in (
                        data.framing_stories
                    )
                ],
                {2, 3, 4, 5, 6, 7},
            )
        )
    else:
        out.append("<p>No story in this period was told by outlets of two sides.</p>")
    return out


def _index_dot(first: date, last: date, day: date, value: float) -> str:
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    x = MARGIN_LEFT + plot_w * (day - first).days / max((last - first).days, 1)
    y = MARGIN_TOP + plot_h * (1 - (value + 1) / 2)
    color = COOPERATION if value > 0 else CONFLICT if value < 0 else "#888"
    return f'<circle class="day" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>'


def write_report(
    settings: Settings,
    out: Path,
    *,
    days: int = 90,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Render the report of the last ``days`` days of data to ``out`` (HTML)."""
    con = connect(settings.warehouse_path, read_only=True, lock_timeout=settings.lock_timeout)
    if progress:
        progress(0, 2, f"reading {settings.warehouse_path}")
    with con:
        data = gather(con, days=days)
    if progress:
        progress(1, 2, "drawing the charts")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    if progress:
        progress(2, 2, f"wrote {out}")
    return out
