from pathlib import Path

import pytest

from extractors.sources import SourceFileError, load_feed_sources, load_seed_articles

REPO = Path(__file__).resolve().parents[2]


def test_bundled_seed_is_the_newsweek_article():
    (seed,) = load_seed_articles(REPO / "seeds" / "seed")
    assert seed.source.kind == "seed"
    assert seed.source.outlet == "Newsweek"
    assert seed.published_at.year == 2021 and seed.published_at.month == 11
    assert seed.language == "en"
    assert "Pakistan" in seed.text and len(seed.text) > 2000


def test_live_feed_list_is_all_disabled_and_snapshot_all_enabled():
    assert load_feed_sources(REPO / "seeds" / "feeds.toml") == []
    snapshot = load_feed_sources(REPO / "seeds" / "snapshot" / "feeds.toml")
    assert len(snapshot) >= 4
    assert {s.country for s in snapshot} >= {"PK", "IR"}


def test_bad_feed_lists_say_what_is_wrong(tmp_path):
    bad = tmp_path / "feeds.toml"
    bad.write_text("[[feed]]\nurl = 'http://x.example/f.xml'\n")
    with pytest.raises(SourceFileError, match="outlet"):
        load_feed_sources(bad)
    bad.write_text("[[feed]\n")
    with pytest.raises(SourceFileError, match="not valid TOML"):
        load_feed_sources(bad)
    with pytest.raises(SourceFileError, match="does not exist"):
        load_feed_sources(tmp_path / "missing.toml")
