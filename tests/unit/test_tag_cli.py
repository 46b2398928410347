"""``dyadwatch tag``: JSON lines in, JSON lines out, no warehouse."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

ITEMS = [
    {
        "id": "trade",
        "title": "Pakistan, Iran set $10bn trade target",
        "text": (
            "ISLAMABAD: Pakistan and Iran agreed on Tuesday to raise bilateral trade to "
            '$10 billion by 2028 and to open more border markets. "Trade is the best '
            "border guard,\" Iran's ambassador said."
        ),
    },
    {
        "id": "sco",
        "title": "SCO summit opens",
        "text": "Members include China, Russia, India, Pakistan, Iran, Kazakhstan and Belarus.",
        "language": "en",
    },
    {"id": "urdu", "title": None, "text": "پاکستان اور ایران نے دوطرفہ تجارت بڑھانے پر اتفاق کیا۔"},
]


def run_tag(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dyadwatch.cli", "tag", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_tag_reads_stdin_and_writes_one_line_per_item() -> None:
    proc = run_tag("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in ITEMS))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["trade", "sco", "urdu"]
    trade, sco, urdu = rows
    keys = {"id", "relevant", "relevance", "categories", "tone", "tone_score", "signals"}
    assert keys | {"actors", "places", "quotes", "amounts"} <= set(trade)
    assert trade["relevant"] is True and 0.5 <= trade["relevance"] <= 1
    assert "trade_economy" in trade["categories"] and trade["tone"] == "cooperation"
    text = ITEMS[0]["text"]
    for s in trade["signals"]:
        assert text[s["start"] : s["end"]] == s["evidence"] and s["cue"] in s["evidence"]
    assert {a["entity_id"] for a in trade["actors"]} >= {"pakistan", "iran"}
    assert trade["amounts"][0]["value"] == 10e9 and trade["amounts"][0]["target_year"] == 2028
    assert trade["quotes"][0]["speaker"] == "Iran's ambassador"
    assert sco["relevant"] is False and sco["categories"] == [] and sco["signals"] == []
    assert urdu["relevant"] is True and "trade_economy" in urdu["categories"]


def test_tag_reads_a_file_and_reports_bad_lines(tmp_path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(ITEMS[0]) + '\nnot json\n{"id": 3}\n', encoding="utf-8")
    proc = run_tag("", str(path))
    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0]["id"] == "trade"
    assert rows[1]["line"] == 2 and "JSONDecodeError" in rows[1]["error"]
    assert rows[2]["line"] == 3 and "text" in rows[2]["error"]
    assert "2 input line(s)" in proc.stderr


def test_tag_with_a_missing_watch_file_says_so(tmp_path) -> None:
    proc = run_tag("", "--watch", str(tmp_path / "nope.toml"))
    assert proc.returncode == 2 and "watch file" in proc.stderr
